"""Course tooling: build ``course/`` from ``solutions/``, execute notebooks, check hygiene, grade.

One command each: ``python -m genlab.course build|execute|check|grade|readme``
(see ``python -m genlab.course --help`` and the README's instructor guide).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE = "solutions"
RELEASE = "course"


def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string (the JSON may store it as a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def repo_root(start: Path | None = None) -> Path:
    """The folder holding ``nbgrader_config.py`` (``GENLAB_ROOT`` overrides the search)."""
    if os.environ.get("GENLAB_ROOT"):
        return Path(os.environ["GENLAB_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").exists() and (folder / SOURCE).is_dir():
            return folder
    raise FileNotFoundError(f"no genlab course (nbgrader_config.py + {SOURCE}/) at or above {here}")


@dataclass(frozen=True)
class Assignment:
    """One module: ``solutions/<name>/*.ipynb`` released as ``course/<name>/*.ipynb``."""

    name: str
    root: Path

    @property
    def source_dir(self) -> Path:
        return self.root / SOURCE / self.name

    @property
    def release_dir(self) -> Path:
        return self.root / RELEASE / self.name

    @property
    def notebooks(self) -> list[Path]:
        return sorted(self.source_dir.glob("*.ipynb"))


def assignments(root: Path | None = None) -> list[Assignment]:
    """Every assignment folder under ``solutions/`` that holds at least one notebook, in order."""
    root = root or repo_root()
    found = [Assignment(p.name, root) for p in sorted((root / SOURCE).iterdir())
             if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))]
    return found
