"""Hygiene checks for CI: course/ in sync, nothing leaked, notebooks clean, parameters present."""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import RELEASE, SOURCE, assignments, cell_source
from .build import build_to_temp

SECRET = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MIN_LEAK_CHARS = 12  # shorter lines ("return x") are too generic to call a leak


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _readable_text(path: Path) -> str:
    """A file's text as a learner reads it: for notebooks, the decoded cell sources and metadata."""
    text = path.read_text(errors="ignore")
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        text += "\n".join(cell_source(c) + "\n" + json.dumps(c.get("metadata", {})) for c in cells)
    return text


def secret_lines(notebook: Path) -> set[str]:
    """Lines of solutions, hidden tests and model written answers that appear nowhere else."""
    secret, public = set(), set()
    for cell in _cells(notebook):
        src = cell_source(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "markdown" and meta.get("solution"):
            secret.update(line.strip() for line in src.splitlines())
            continue
        hidden = "\n".join(m.group(2) for m in SECRET.finditer(src))
        secret.update(line.strip() for line in hidden.splitlines())
        public.update(line.strip() for line in SECRET.sub("", src).splitlines())
    return {line for line in secret - public if len(line) >= MIN_LEAK_CHARS}


def check_sync(root: Path, built: Path | None = None) -> list[str]:
    """``course/`` must be byte-identical to a fresh build from ``solutions/``.

    ``built``: a fresh build of these same sources to compare with (the test suite builds once
    and shares it); by default one is made in a temporary folder. Passing also proves the build
    is stable: nbgrader writes the same bytes whenever it runs."""
    if built is None:
        fresh, tmp = build_to_temp(root)
        with tmp:
            return check_sync(root, fresh)
    committed = root / RELEASE
    want = {p.relative_to(built) for p in built.rglob("*") if p.is_file()}
    have = {p.relative_to(committed) for p in committed.rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}
    problems = [f"{RELEASE}/{p} is missing (run `python -m genlab.course build`)" for p in sorted(want - have)]
    problems += [f"{RELEASE}/{p} has no source in {SOURCE}/" for p in sorted(have - want)]
    problems += [f"{RELEASE}/{p} differs from a fresh build of {SOURCE}/ (never hand-edit {RELEASE}/)"
                 for p in sorted(want & have) if (built / p).read_bytes() != (committed / p).read_bytes()]
    return problems


def check_leaks(root: Path) -> list[str]:
    """No solution code, hidden test or model answer text anywhere in ``course/``."""
    problems = []
    for assignment in assignments(root):
        released = [p for p in assignment.release_dir.rglob("*") if p.is_file()]
        texts = {p: _readable_text(p) for p in released}
        for notebook in assignment.notebooks:
            for line in secret_lines(notebook):
                problems += [f"{p.relative_to(root)} leaks {line!r} from {notebook.relative_to(root)}"
                             for p, text in texts.items() if line in text]
        for p, text in texts.items():
            problems += [f"{p.relative_to(root)} contains the marker {m!r}" for m in MARKERS if m in text]
    return problems


def check_hygiene(root: Path) -> list[str]:
    """Notebooks are committed cleared; every source notebook has a ``parameters`` cell with SMOKE."""
    problems = []
    for folder in (SOURCE, RELEASE):
        for nb in sorted((root / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in nb.parts:
                continue
            rel = nb.relative_to(root)
            cells = _cells(nb)
            if any(c.get("outputs") or c.get("execution_count") for c in cells if c["cell_type"] == "code"):
                problems.append(f"{rel} has outputs or execution counts: clear them before committing")
            params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
            if len(params) != 1:
                problems.append(f"{rel} needs exactly one cell tagged 'parameters', has {len(params)}")
            elif not re.search(r"^SMOKE\s*=", cell_source(params[0]), re.M):
                problems.append(f"{rel}: its parameters cell does not set SMOKE")
    return problems


def check_readme(root: Path) -> list[str]:
    """Every assignment appears in the README's course map."""
    text = (root / "README.md").read_text()
    start, end = text.find("<!-- course-map:start -->"), text.find("<!-- course-map:end -->")
    if start < 0 or end < 0:
        return ["README.md has no course map (markers <!-- course-map:start/end -->)"]
    table = text[start:end]
    return [f"README.md course map has no row for {a.name} (run `python -m genlab.course readme`)"
            for a in assignments(root) if f"`{a.name}`" not in table]


def check_all(root: Path) -> list[str]:
    return check_hygiene(root) + check_leaks(root) + check_sync(root) + check_readme(root)
