"""The record that lets the slow recipe tests skip: it covers the code each recipe runs, and any
change to that code sends them back to re-running the recipe."""
from __future__ import annotations

import json

import pytest

from genlab.course import recipes


@pytest.mark.parametrize("recipe, must_include", [
    ("base-gpt", ["genlab/generative/gpt.py", "genlab/generative/gpt_train.py", "genlab/data/text.py",
                  "genlab/nn/transformer.py", "genlab/train.py"]),
    ("places-clip", ["genlab/vision/places_clip.py", "genlab/vision/clip.py", "genlab/data/places.py",
                     "genlab/data/distortions.py", "genlab/nn/transformer.py"]),   # distortions: a function-level import
])
def test_sources_follow_imports_transitively(recipe, must_include):
    found = {p.relative_to(recipes.LIB).as_posix() for p in recipes.sources(recipes.RECIPES[recipe])}
    assert set(must_include) <= found, set(must_include) - found
    assert "genlab/nas/space.py" not in found    # unrelated code does not send the recipe back


def test_the_shipped_record_names_every_recipe_and_what_changes(tmp_path):
    record = json.loads(recipes.RECORD.read_text())
    assert set(record) == set(recipes.RECIPES)
    for name in recipes.RECIPES:
        assert {"python", "torch"} <= set(record[name]) and len(record[name]) > 10
    path = tmp_path / "record.json"
    recipes.record(path)
    assert recipes.changed("base-gpt", path) == []
    edited = json.loads(path.read_text())
    edited["base-gpt"]["genlab/generative/gpt.py"] = "0" * 64          # as if gpt.py had been edited since
    edited["base-gpt"].pop("genlab/train.py")                           # or a new import added
    edited["base-gpt"]["torch"] = "2.4.0"
    path.write_text(json.dumps(edited))
    assert recipes.changed("base-gpt", path) == ["genlab/generative/gpt.py", "genlab/train.py", "torch"]
    assert recipes.changed("places-clip", path) == []
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.fingerprint("no-such-model")


def test_rerun_is_forced_by_the_environment(monkeypatch):
    monkeypatch.setenv("GENLAB_RECIPES", "all")
    assert recipes.must_rerun("places-clip") == "GENLAB_RECIPES=all"
