"""The grading cycle through nbgrader's real generate_assignment → autograde → gradebook.

For every assignment: the model answers score full marks on every autograded test, the
unanswered student notebook scores zero without crashing the grader, and plausible wrong
answers that pass the visible tests score less than full.

One autograde run per assignment grades all three students; whether the wrong answers pass
the visible tests is read from that run's autograded notebooks (the line each failure was
raised on lies in a hidden-test region), not from a second execution.
"""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from genlab.course import assignments, repo_root
from genlab.course.grade import GradingRun

pytestmark = pytest.mark.grading

ROOT = repo_root()
ASSIGNMENTS = assignments(ROOT)
WRONG_DIR = Path(__file__).parent / "wrong_answers"


def wrong_answers(name: str) -> dict[str, dict[str, str]]:
    path = WRONG_DIR / f"{name}.py"
    assert path.exists(), f"add plausible wrong answers for {name} in {path}"
    return runpy.run_path(str(path))["WRONG"]


@pytest.fixture(scope="module", ids=[a.name for a in ASSIGNMENTS],
                params=[pytest.param(a, marks=pytest.mark.xdist_group(f"grade-{a.name}")) for a in ASSIGNMENTS])
def graded(request, tmp_path_factory, course_build):
    """One autograde run per assignment with three students: model, blank, wrong (on the test
    run's one build of the course)."""
    a = request.param
    run = GradingRun(a, tmp_path_factory.mktemp(f"grade-{a.name}"),
                     built=(course_build, course_build.parent / "gradebooks" / f"{a.name}.db"))
    run.submit("model", run.answered())
    run.submit("blank", run.released())
    run.submit("wrong", run.answered(wrong_answers(a.name)))
    run.autograde()
    return run


def test_model_answers_score_full_marks(graded):
    scores = graded.scores("model")
    tests = [s for s in scores if s.kind == "autograded test"]
    assert tests, "an assignment needs autograded tests"
    assert [(s.grade_id, s.score) for s in tests] == [(s.grade_id, s.max_score) for s in tests]
    written = [s for s in scores if s.kind == "written answer"]
    assert all(s.score is None for s in written), "answered written questions wait for a human grader"


def test_unanswered_notebook_scores_zero(graded):
    scores = graded.scores("blank")
    assert scores and len(scores) == len(graded.scores("model"))  # every cell graded: no crash
    assert [(s.grade_id, s.score) for s in scores] == [(s.grade_id, 0) for s in scores]


def test_wrong_answers_pass_visible_tests_but_lose_points(graded):
    scores = graded.scores("wrong")
    tests = [s for s in scores if s.kind == "autograded test"]
    lost = {s.grade_id for s in tests if s.score < s.max_score}
    assert lost, "the plausible wrong answers scored full marks: the hidden tests miss them"
    failures = graded.failures("wrong")
    visible = [f"{f.grade_id}: {f.message[:200]}" for f in failures if f.where == "visible"]
    assert not visible, f"wrong answers should pass the visible tests (the learner's Validate): {visible}"
    assert {f.grade_id for f in failures} == lost, "every lost point is a failing hidden test"


def test_failure_classification_sees_visible_failures(graded):
    """The check above can fail: the blank notebook fails its tests in their visible part."""
    failures = graded.failures("blank")
    assert failures and all(f.where == "visible" for f in failures), failures
