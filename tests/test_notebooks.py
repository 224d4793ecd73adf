"""Every solutions notebook, executed end to end by papermill, within the time and memory guard.

New notebooks under solutions/ are picked up automatically. Each run is recorded in
reports/execution.json, from which `python -m genlab.course readme` writes the README map.
The full-mode runs are ordered slowest first (by the README's course map), so that the test
workers finish together. The SMOKE runs are the grading cycle's (its model student runs the whole
notebook with GENLAB_SMOKE=1), summed by tests/test_after_course.py.
"""
from __future__ import annotations

import re

import pytest

from genlab.course import assignments, repo_root
from genlab.course.execute import GUARD_MB, GUARD_SECONDS, TARGET_MB, TARGET_SECONDS, execute_notebook, update_report

ROOT = repo_root()
NOTEBOOKS = [nb for a in assignments(ROOT) for nb in a.notebooks]


def _readme_seconds(name: str) -> float:
    match = re.search(rf"^\| `{re.escape(name)}` \|.*?\| (\d+) s \|", (ROOT / "README.md").read_text(), re.M)
    return float(match.group(1)) if match else 0.0


SLOWEST_FIRST = sorted(NOTEBOOKS, key=lambda nb: -_readme_seconds(nb.parent.name))
REPORT = ROOT / "reports" / "execution.json"


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", SLOWEST_FIRST, ids=[nb.stem for nb in SLOWEST_FIRST])
def test_notebook_runs_in_full_mode_within_budget(notebook):
    out = ROOT / "reports" / "executed-full" / notebook.parent.name / notebook.name
    record = execute_notebook(notebook, out, smoke=False, root=ROOT)
    update_report(REPORT, [record])
    print(f"{record.notebook}: {record.seconds:.1f} s, {record.peak_rss_mb:.0f} MB")
    assert record.ok, record.error  # includes the notebook's own results check
    assert record.seconds <= GUARD_SECONDS and record.peak_rss_mb <= GUARD_MB
    if not record.within_target:  # the target is what we promise; the guard absorbs a noisy machine
        print(f"WARNING: over the {TARGET_SECONDS} s / {TARGET_MB} MB target")
