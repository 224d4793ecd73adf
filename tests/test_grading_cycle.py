"""The grading cycle through nbgrader's real generate_assignment → autograde → gradebook.

For every assignment: the model answers score full marks on every autograded test, the
unanswered student notebook scores zero without crashing the grader, and plausible wrong
answers score less than full.

Two kinds of wrong-answer files (``tests/wrong_answers/<assignment>.py``):
- ``WRONG`` (00–09, until issues 14/15 rework them): all wrong answers in one submission, each
  passing the visible tests and caught by a hidden one;
- ``EACH_ALONE`` (design.md's grading rules, from 10 on): a list of wrong answers, each graded
  as its own submission and each scoring below full (with ``EXERCISES_ONLY = True`` a submission
  keeps only the set-up, exercise and test cells: ``grade.exercises_only``); each says where it must be caught —
  ``"visible"`` (the mistake the prose warns about: the learner sees it before submitting) or
  ``"hidden"`` (overfitting to the visible cases).

One autograde run per assignment grades every student; where a wrong answer fails is read
from that run's autograded notebooks (the line each failure was raised on lies in a
hidden-test region or not), not from a second execution.
"""
from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from genlab.course import assignments, repo_root
from genlab.course.grade import GradingRun, exercises_only

pytestmark = pytest.mark.grading

ROOT = repo_root()
ASSIGNMENTS = assignments(ROOT)
WRONG_DIR = Path(__file__).parent / "wrong_answers"


def wrong_answers(name: str) -> dict:
    path = WRONG_DIR / f"{name}.py"
    assert path.exists(), f"add plausible wrong answers for {name} in {path}"
    found = runpy.run_path(str(path))
    assert ("WRONG" in found) != ("EACH_ALONE" in found), f"{path} defines WRONG or EACH_ALONE (one of them)"
    return found


def alone(i: int) -> str:
    return f"wrong{i:02d}"


@pytest.fixture(scope="module", ids=[a.name for a in ASSIGNMENTS],
                params=[pytest.param(a, marks=pytest.mark.xdist_group(f"grade-{a.name}")) for a in ASSIGNMENTS])
def graded(request, tmp_path_factory, course_build):
    """One autograde run per assignment with the students model, blank and the wrong answers
    (one student "wrong", or one per wrong answer), on the test run's one build of the course."""
    a = request.param
    once = Path(os.environ["GENLAB_TEST_HOME"]) / f"graded-{a.name}"   # one folder for all workers
    assert not once.exists(), (f"{a.name} is graded a second time in this run: its tests were split across "
                               "workers (is --dist loadgroup grouping? pytest-xdist #1386)")
    once.touch()
    run = GradingRun(a, tmp_path_factory.mktemp(f"grade-{a.name}"),
                     built=(course_build, course_build.parent / "gradebooks" / f"{a.name}.db"))
    run.submit("model", run.answered())
    run.submit("blank", run.released())
    found = wrong_answers(a.name)
    run.each_alone = found.get("EACH_ALONE")
    if run.each_alone is None:
        run.submit("wrong", run.answered(found["WRONG"]))
    for i, w in enumerate(run.each_alone or []):
        notebooks = run.answered({w["notebook"]: {w["grade_id"]: w["source"]}})
        if found.get("EXERCISES_ONLY"):     # set-up, exercises and tests only: seconds per wrong answer
            notebooks = {name: exercises_only(nb) for name, nb in notebooks.items()}
        run.submit(alone(i), notebooks)
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
    if graded.each_alone is not None:
        pytest.skip("graded one by one (EACH_ALONE)")
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


def test_each_wrong_answer_alone_loses_points_where_it_says(graded):
    if graded.each_alone is None:
        pytest.skip("an old-style WRONG file: one submission (issues 14/15 rework it)")
    problems = []
    for i, w in enumerate(graded.each_alone):
        label = f"{w['grade_id']} ({w['mistake']})"
        tests = [s for s in graded.scores(alone(i)) if s.kind == "autograded test"]
        if sum(s.score for s in tests) >= sum(s.max_score for s in tests):
            problems.append(f"{label}: full marks")
            continue
        where = {f.where for f in graded.failures(alone(i))}
        if w["caught"] == "visible" and "visible" not in where:
            problems.append(f"{label}: should fail a visible test (the prose warns of it), failed {where or 'none'}")
        if w["caught"] == "hidden" and where != {"hidden"}:
            problems.append(f"{label}: should pass the visible tests and fail a hidden one, failed {where or 'none'}")
    assert not problems, problems
