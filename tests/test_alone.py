"""genlab.course.alone: each submission graded alone in a fork of the set-up's state."""
from __future__ import annotations

from genlab.course.alone import cells_of, grade_alone


def _nb() -> dict:
    def cell(kind, source, **nbgrader):
        meta = {"nbgrader": {"schema_version": 3, **nbgrader}} if nbgrader else {}
        return {"cell_type": kind, "metadata": meta, "source": source, "outputs": [], "execution_count": None}

    return {"cells": [
        cell("markdown", "# a notebook"),
        cell("code", "import math\nDATA = [1.0, 2.0, 3.0]"),
        cell("code", "def total(xs):\n    ### BEGIN SOLUTION\n    return sum(xs)\n    ### END SOLUTION",
             grade_id="total", solution=True, grade=False, locked=False),
        cell("code", "assert total([1, 2]) == 3, 'visible'\n### BEGIN HIDDEN TESTS\nxs = list(DATA)\n"
             "assert total(xs) == 6 and xs == DATA, 'hidden'\n### END HIDDEN TESTS",
             grade_id="test_total", solution=False, grade=True, locked=True, points=2),
        cell("code", "DATA.append(100.0)"),       # an experiment cell: runs, changes nothing graded
    ]}


def test_cells_of_orders_setup_solutions_and_tests():
    kinds = [c["kind"] for c in cells_of(_nb())]
    assert kinds == ["setup", "solution", "test", "code"]
    assert "BEGIN SOLUTION" not in cells_of(_nb())[1]["source"]


def test_each_submission_is_scored_alone_and_where_it_fails(tmp_path):
    results = grade_alone(_nb(), [
        {},                                                            # the model answer
        {"total": "def total(xs):\n    return 3"},                     # hard-coded: hidden test
        {"total": "def total(xs):\n    return len(xs)"},               # wrong: visible test
        {"total": "def total(xs):\n    xs.append(0)\n    return sum(xs)"},  # changes its input: hidden
        {"total": "DATA.clear()\ndef total(xs):\n    return sum(xs)"},  # breaks state: must not leak on
        {"total": "import time\ntime.sleep(60)"},                      # hangs: stopped, zero
        {"total": "import os\nos._exit(3)"},                           # kills its process: zero
        {},                                                            # still the set-up's state
    ], tmp_path, timeout=5)
    scores = [[(r.score, r.where) for r in one] for one in results]
    assert scores[0] == [(2.0, None)]
    assert scores[1] == [(0.0, "hidden")]
    assert scores[2] == [(0.0, "visible")]
    assert scores[3] == [(0.0, "hidden")]
    assert scores[4] == [(0.0, "hidden")]
    assert scores[5][0][0] == 0.0 and "Timeout" in results[5][0].error
    assert scores[6][0][0] == 0.0 and "died" in results[6][0].error
    assert scores[7] == [(2.0, None)], "one submission's changes reached the next"
    assert "visible" in results[2][0].error
