"""What a whole test run produced, checked after it (``pytest --after-course``; ``make test``
runs this pass second).

- The whole course in SMOKE mode under ten minutes (design.md, Budgets): the SMOKE run of each
  notebook is its grading cycle's model student (tests/test_grading_cycle.py), autograded with
  GENLAB_SMOKE=1 — every cell, hidden tests included — so the sum is an upper bound on the
  papermill SMOKE course (``python -m genlab.course execute --smoke``).
"""
from __future__ import annotations

import json

import pytest

from genlab.course import assignments, repo_root

pytestmark = pytest.mark.aftercourse

ROOT = repo_root()
SMOKE_RECORD = ROOT / "reports" / "smoke-course.json"   # written by test_grading_cycle.py
SMOKE_COURSE_SECONDS = 600


def test_whole_course_runs_in_smoke_mode_under_ten_minutes():
    assert SMOKE_RECORD.exists(), f"no {SMOKE_RECORD}: run the grading cycle first (make test does)"
    seconds = json.loads(SMOKE_RECORD.read_text())["seconds"]
    missing = [a.name for a in assignments(ROOT) if a.name not in seconds]
    assert not missing, f"the last run recorded no SMOKE time for {missing}"
    total = sum(seconds.values())
    print("SMOKE seconds:", seconds, f"total {total:.0f} s")
    assert total < SMOKE_COURSE_SECONDS, f"the SMOKE course took {total:.0f} s: {seconds}"
