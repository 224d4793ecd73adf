"""Has the code that made a shipped model changed since its recipe was last verified?

Three trained models ship with genlab, each made by a recipe in the library: 05's base GPT
(``gpt_train.build_base_gpt``) and 11's two places CLIPs (``places_clip.train_places_clip``).
A slow test re-runs each recipe (minutes on one thread) and compares the result with the shipped
weights. That re-run can only find something when the code it runs has changed, so
``RECORD`` (``recipes.json`` beside this file) keeps, for each recipe, a SHA-256 of every genlab
source file its module imports — transitively, imports inside functions included — plus the
Python and torch versions, as of the last run that passed. The recipe tests run when anything
differs (and name what), and are skipped otherwise; ``GENLAB_RECIPES=all`` (``make
test-recipes``) runs them regardless. After they pass, ``python -m genlab.course recipes
--record`` writes the new record.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from pathlib import Path

import torch

RECIPES = {"base-gpt": "genlab.generative.gpt_train",      # build_base_gpt -> gpt_train.BASE_WEIGHTS
           "places-clip": "genlab.vision.places_clip"}     # train_places_clip -> places_clip.WEIGHTS
RECORD = Path(__file__).with_name("recipes.json")
LIB = Path(__file__).resolve().parents[2]   # the folder that holds the genlab package


def _file(module: str) -> Path | None:
    """The source file of a genlab module (``a/b.py`` or ``a/b/__init__.py``), or None."""
    base = LIB.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, path: Path) -> set[str]:
    """The genlab modules ``path`` (module ``module``) imports anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "genlab"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != "genlab":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names if _file(f"{target}.{a.name}")}  # from pkg import submodule
    return found


def sources(module: str) -> list[Path]:
    """Every genlab source file that importing ``module`` and calling its functions may run:
    its imports, transitively, with the ``__init__.py`` of every package on the way."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):        # importing a.b.c runs a/__init__, a/b/__init__ too
            prefix = ".".join(parts[:i])
            path = _file(prefix)
            if path is not None and prefix not in seen:
                seen[prefix] = path
                todo.append(prefix)
        if name in seen:
            todo.extend(m for m in _imports(name, seen[name]) if m not in seen)
    return sorted(set(seen.values()))


def fingerprint(recipe: str) -> dict[str, str]:
    """``{"python": ..., "torch": ..., "<path under lib/>": sha256, ...}`` for one recipe."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known: {sorted(RECIPES)}")
    found = {"python": "%d.%d" % sys.version_info[:2], "torch": torch.__version__.split("+")[0]}
    for path in sources(RECIPES[recipe]):
        found[path.relative_to(LIB).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def changed(recipe: str, record: Path = RECORD) -> list[str]:
    """What differs from the record for ``recipe``: changed, added or removed files and versions
    (empty when nothing does)."""
    recorded = json.loads(record.read_text()).get(recipe, {}) if record.exists() else {}
    now = fingerprint(recipe)
    return sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))


def must_rerun(recipe: str) -> str | None:
    """Why the recipe test must re-run ``recipe`` (a sentence), or None when it may be skipped."""
    if os.environ.get("GENLAB_RECIPES") == "all":
        return "GENLAB_RECIPES=all"
    diff = changed(recipe)
    return f"changed since the last verified run: {', '.join(diff)}" if diff else None


def record(path: Path = RECORD) -> dict[str, dict[str, str]]:
    """Write every recipe's fingerprint to ``path`` (run after the recipe tests pass)."""
    found = {name: fingerprint(name) for name in RECIPES}
    path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    return found


__all__ = ["RECIPES", "RECORD", "sources", "fingerprint", "changed", "must_rerun", "record"]
