"""course/ is generated, in sync, leak-free and clean; the checks themselves catch problems.

The test run's one nbgrader build of every assignment (``course_build``, conftest.py) is the
fresh build these checks compare with.
"""
from __future__ import annotations

import json
import shutil

import pytest


from genlab.course import assignments
from genlab.course.check import check_hygiene, check_leaks, check_readme, check_sync, secret_lines


def test_every_assignment_has_a_released_copy(root):
    found = assignments(root)
    assert [a.name for a in found][:2] == ["00_orientation", "01_foundations"]
    for a in found:
        assert [p.name for p in a.notebooks] == sorted(p.name for p in a.release_dir.glob("*.ipynb"))


@pytest.fixture
def fresh_build(course_build):
    return course_build


def test_course_is_in_sync_with_solutions(root, fresh_build):
    """Byte-identical to a fresh build: in sync, and the build is stable (same bytes every time)."""
    assert check_sync(root, fresh_build) == []


def test_nothing_secret_leaks_into_course(root):
    assert check_leaks(root) == []


def test_notebooks_are_clean_and_parametrised(root):
    assert check_hygiene(root) == []


def test_readme_course_map_lists_every_assignment(root):
    assert check_readme(root) == []


def test_course_has_stubs_not_solutions(root):
    for a in assignments(root):
        for nb in a.release_dir.glob("*.ipynb"):
            text = nb.read_text()
            assert "raise NotImplementedError()" in text and "YOUR CODE HERE" in text


@pytest.fixture
def scratch(root, tmp_path):
    """A copy of the course's sources and released notebooks to break on purpose."""
    for name in ("solutions", "course"):
        shutil.copytree(root / name, tmp_path / name)
    shutil.copy(root / "nbgrader_config.py", tmp_path)
    shutil.copy(root / "README.md", tmp_path)
    return tmp_path


def _first_released(scratch):
    a = assignments(scratch)[0]
    return a, a.notebooks[0], a.release_dir / a.notebooks[0].name


def test_leak_check_catches_a_pasted_solution(scratch):
    a, source, released = _first_released(scratch)
    leaked = sorted(secret_lines(source))[0]
    nb = json.loads(released.read_text())
    nb["cells"][-1]["source"] = "".join(nb["cells"][-1]["source"]) + "\n" + leaked
    released.write_text(json.dumps(nb))
    problems = check_leaks(scratch)
    assert any(repr(leaked) in p for p in problems)


def test_sync_check_catches_a_hand_edit(scratch, fresh_build):
    a, source, released = _first_released(scratch)
    assert check_sync(scratch, fresh_build) == []   # the scratch copy has the same sources
    released.write_text(released.read_text().replace("Orientation", "Orientations"))
    assert any("differs from a fresh build" in p for p in check_sync(scratch, fresh_build))
    released.unlink()
    assert any("is missing" in p for p in check_sync(scratch, fresh_build))


def test_hygiene_check_catches_outputs_and_missing_parameters(scratch):
    a, source, released = _first_released(scratch)
    nb = json.loads(source.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    for c in code:
        c["metadata"].pop("tags", None)
    source.write_text(json.dumps(nb))
    problems = check_hygiene(scratch)
    assert any("has outputs" in p for p in problems) and any("'parameters'" in p for p in problems)
