"""The grading cycle through nbgrader's real generate_assignment → autograde → gradebook.

For every assignment: the model answers score full marks on every autograded test, the
unanswered student notebook scores zero without crashing the grader, and plausible wrong
answers score less than full.

Each assignment's wrong answers (``tests/wrong_answers/<assignment>.py``, design.md's grading
rules) are an ``EACH_ALONE`` list: each graded alone and each scoring below full (with
``EXERCISES_ONLY = True`` only the set-up, exercise and test cells run: ``grade.exercises_only``);
each says where it must be caught — ``"visible"`` (the mistake the prose warns about: the learner
sees it before submitting) or ``"hidden"`` (overfitting to the visible cases).

One autograde run per assignment grades the model and blank students; where a wrong answer fails
is read from the autograded notebooks (the line each failure was raised on lies in a hidden-test
region or not). The wrong answers are graded by
``genlab.course.alone`` (the set-up once, each submission in a fork of it: seconds each, where a
kernel per submission cost 6–15 s); two of them — the first caught by a visible test, the first
by a hidden one — also go through nbgrader's autograde, and the two graders must agree cell by cell.
"""
from __future__ import annotations

import fcntl
import json
import os
import runpy
import shutil
from pathlib import Path

import pytest

from genlab.course import assignments, repo_root
from genlab.course.alone import grade_alone
from genlab.course.grade import GradingRun, exercises_only

pytestmark = pytest.mark.grading

ROOT = repo_root()
ASSIGNMENTS = assignments(ROOT)
WRONG_DIR = Path(__file__).parent / "wrong_answers"
SMOKE_RECORD = ROOT / "reports" / "smoke-course.json"   # {assignment: SMOKE seconds}, this run's


def record_smoke_seconds(name: str, seconds: float) -> None:
    """Add one assignment's SMOKE seconds to ``SMOKE_RECORD`` (written by every worker: locked)."""
    SMOKE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    with open(SMOKE_RECORD.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = os.environ["GENLAB_TEST_HOME"]        # one per pytest run: an older run's record is dropped
        record = json.loads(SMOKE_RECORD.read_text()) if SMOKE_RECORD.exists() else {}
        if record.get("run") != run:
            record = {"run": run, "seconds": {}}
        record["seconds"][name] = round(seconds, 1)
        SMOKE_RECORD.write_text(json.dumps(record, indent=1, sort_keys=True))


def wrong_answers(name: str) -> dict:
    path = WRONG_DIR / f"{name}.py"
    assert path.exists(), f"add plausible wrong answers for {name} in {path}"
    found = runpy.run_path(str(path))
    assert "EACH_ALONE" in found, f"{path} defines EACH_ALONE: a list of wrong answers, each graded alone"
    return found


def alone(i: int) -> str:
    return f"wrong{i:02d}"


@pytest.fixture(scope="module", ids=[a.name for a in ASSIGNMENTS],
                params=[pytest.param(a, marks=pytest.mark.xdist_group(f"grade-{a.name}")) for a in ASSIGNMENTS])
def graded(request, tmp_path_factory, course_build):
    """One autograde run per assignment with the students model, blank and two sampled wrong
    answers, then every wrong answer graded alone, on the test run's one build of the course."""
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
    run.each_alone = found["EACH_ALONE"]
    only = exercises_only if found.get("EXERCISES_ONLY") else (lambda nb: nb)
    run.sample = sorted({next(i for i, w in enumerate(run.each_alone) if w["caught"] == c)
                         for c in ("visible", "hidden") if any(w["caught"] == c for w in run.each_alone)})
    for i in run.sample:          # these two also through nbgrader: the graders must agree
        w = run.each_alone[i]
        notebooks = run.answered({w["notebook"]: {w["grade_id"]: w["source"]}})
        run.submit(alone(i), {name: only(nb) for name, nb in notebooks.items()})
    run.autograde()
    workdir = tmp_path_factory.mktemp(f"alone-{a.name}")
    shutil.copytree(run.release_dir, workdir / a.name)     # the cells run where a submission's would
    run.alone, run.alone_model = {}, {}
    for name in run.released():
        source = only(json.loads((a.source_dir / name).read_text()))
        mine = [i for i, w in enumerate(run.each_alone) if w["notebook"] == name]
        graded_ = grade_alone(source, [{}] + [{run.each_alone[i]["grade_id"]: run.each_alone[i]["source"]}
                                              for i in mine], workdir / a.name)
        run.alone_model[name] = graded_[0]
        run.alone.update(zip(mine, graded_[1:]))
    return run


def test_model_answers_score_full_marks(graded):
    scores = graded.scores("model")
    tests = [s for s in scores if s.kind == "autograded test"]
    assert tests, "an assignment needs autograded tests"
    assert [(s.grade_id, s.score) for s in tests] == [(s.grade_id, s.max_score) for s in tests]
    written = [s for s in scores if s.kind == "written answer"]
    assert all(s.score is None for s in written), "answered written questions wait for a human grader"


def test_model_answers_run_the_whole_notebook_in_smoke_mode(graded):
    """The model student's autograde is the notebook's SMOKE run (GENLAB_SMOKE=1, every cell, hidden
    tests included): no cell may raise — autograde runs on past errors, so a broken experiment
    would otherwise cost no points. Its time goes to ``SMOKE_RECORD``, which the after-course pass
    sums (tests/test_after_course.py: the whole course in SMOKE mode under ten minutes)."""
    seconds, errors = graded.run_record("model")
    assert not errors, f"{graded.assignment.name} raised in SMOKE mode: {errors}"
    record_smoke_seconds(graded.assignment.name, seconds)
    print(f"{graded.assignment.name}: SMOKE run (autograde of the model answers) {seconds:.1f} s")


def test_unanswered_notebook_scores_zero(graded):
    scores = graded.scores("blank")
    assert scores and len(scores) == len(graded.scores("model"))  # every cell graded: no crash
    assert [(s.grade_id, s.score) for s in scores] == [(s.grade_id, 0) for s in scores]


def test_failure_classification_sees_visible_failures(graded):
    """The check above can fail: the blank notebook fails its tests in their visible part."""
    failures = graded.failures("blank")
    assert failures and all(f.where == "visible" for f in failures), failures


def test_each_wrong_answer_alone_loses_points_where_it_says(graded):
    for name, results in graded.alone_model.items():   # the grader itself: model answers pass
        assert results and all(r.score == r.max_score for r in results), (name, [r for r in results if r.error])
    problems = []
    for i, w in enumerate(graded.each_alone):
        label = f"{w['grade_id']} ({w['mistake']})"
        results = graded.alone[i]
        if sum(r.score for r in results) >= sum(r.max_score for r in results):
            problems.append(f"{label}: full marks")
            continue
        where = {r.where for r in results if r.where}
        if w["caught"] == "visible" and "visible" not in where:
            problems.append(f"{label}: should fail a visible test (the prose warns of it), failed {where or 'none'}")
        if w["caught"] == "hidden" and where != {"hidden"}:
            problems.append(f"{label}: should pass the visible tests and fail a hidden one, failed {where or 'none'}")
    assert not problems, problems


def test_the_fast_grader_agrees_with_nbgrader(graded):
    """``genlab.course.alone`` scores each sampled wrong answer as nbgrader's autograde does:
    the same test cells lose their points, failing in the same (visible or hidden) region."""
    assert graded.sample, "sample at least one wrong answer through nbgrader"
    for i in graded.sample:
        nbgrader_scores = {s.grade_id: s.score for s in graded.scores(alone(i)) if s.kind == "autograded test"}
        nbgrader_where = {f.grade_id: f.where for f in graded.failures(alone(i))}
        fast = graded.alone[i]
        assert {r.grade_id: r.score for r in fast} == nbgrader_scores, (graded.each_alone[i]["mistake"], fast)
        assert {r.grade_id: r.where for r in fast if r.where} == nbgrader_where, (graded.each_alone[i]["mistake"], fast)
