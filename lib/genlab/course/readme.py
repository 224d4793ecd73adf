"""Write the README's course map from the execution report."""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import Assignment, assignments, cell_source
from .execute import Record

START, END = "<!-- course-map:start -->", "<!-- course-map:end -->"


def title(notebook: Path) -> str:
    """The notebook's first heading, without the leading #."""
    for cell in json.loads(notebook.read_text())["cells"]:
        src = cell_source(cell)
        match = re.search(r"^#\s+(.+)$", src, re.M) if cell["cell_type"] == "markdown" else None
        if match:
            return match.group(1).strip()
    return notebook.stem


def course_map(items: list[Assignment], records: list[Record]) -> str:
    """A markdown table: module, notebook title, then full-mode time and peak memory (measured)
    on a quiet machine, and the time with a busy program on every core and inside Binder's
    limits (1 CPU, 2 GB) where those were measured."""
    full = {(r.notebook, r.condition): r for r in records if not r.smoke and r.ok}
    rows = ["| module | notebook | full-mode time | peak memory | busy cores | Binder (1 CPU, 2 GB) |",
            "|---|---|---|---|---|---|"]
    for a in items:
        for nb in a.notebooks:
            name = str(nb.relative_to(a.root))
            quiet, busy, binder = (full.get((name, c)) for c in ("quiet", "busy", "binder"))
            cells = [f"{r.seconds:.0f} s" if r else "not measured" for r in (quiet, busy, binder)]
            mem = f"{quiet.peak_rss_mb / 1024:.2f} GB" if quiet else "not measured"
            link = f"[{title(nb)}](course/{a.name}/{nb.name})"
            rows.append(f"| `{a.name}` | {link} | {cells[0]} | {mem} | {cells[1]} | {cells[2]} |")
    return "\n".join(rows)


def update_readme(root: Path, report: Path) -> str:
    """Replace the table between the course-map markers in README.md; return the table."""
    fields = Record.__dataclass_fields__
    records = ([Record(**{k: v for k, v in r.items() if k in fields}) for r in json.loads(report.read_text())]
               if report.exists() else [])
    table = course_map(assignments(root), records)
    readme = root / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return table
