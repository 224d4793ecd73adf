"""A class, end to end, through nbgrader's exchange (issue 3).

The instructor releases 01_foundations into an exchange folder; three learners with their
own folders and ids fetch it:

- alice completes it with the model answers;
- bob leaves it unanswered;
- carol writes plausible wrong answers (they pass the visible tests) and edits the locked test
  cell of ``init_std`` so that it only prints "passed".

They submit; the instructor collects, autogrades, generates and releases feedback; each
learner fetches it. Every step is nbgrader's own command line, as the README documents it.
Asserted: the grades (full / zero / the tampering undone by nbgrader's checksums and not
rewarded), feedback reaching each learner with their own score, and hidden tests kept out of
feedback unless the instructor turns ``HideHiddenTests`` off.
"""
from __future__ import annotations

import html
import json
import os
import re
import runpy
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from genlab.course import cell_source
from genlab.course.build import nbgrader
from genlab.course.feedback import hidden_lines
from genlab.course.grade import fill_in, model_answers

pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("exchange")]   # one classroom, one worker

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_foundations"
NOTEBOOK = f"{NAME}.ipynb"
COURSE = "genlab"
TAMPERED = "test_init_std"
LEARNERS = ("alice", "bob", "carol")


class Classroom:
    """An instructor's course folder, an exchange, and one folder per learner."""

    def __init__(self, base: Path):
        self.exchange = base / "exchange"
        self.exchange.mkdir(mode=0o777)
        self.exchange.chmod(0o777)  # nbgrader's exchange must be writable by every learner
        self.instructor = base / "instructor"
        self.instructor.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", self.instructor)
        shutil.copytree(ROOT / "solutions" / NAME, self.instructor / "solutions" / NAME)
        self.log: list[str] = []

    def teach(self, *args: str, **env: str) -> str:
        """An nbgrader command run by the instructor, in the course folder."""
        proc = nbgrader(self.instructor, *args, f"--Exchange.root={self.exchange}",
                        f"--CourseDirectory.root={self.instructor}", env=self._env(env))
        self.log.append(proc.stdout + proc.stderr)
        return proc.stdout + proc.stderr

    def learner_dir(self, student: str) -> Path:
        return self.instructor.parent / "learners" / student

    def learn(self, student: str, *args: str) -> str:
        """An nbgrader command run by one learner, in their own folder, under their own id.

        Every process here runs as the same OS user, so the id comes from nbgrader config,
        as on a hub that spawns servers without system users (deploy/local)."""
        home = self.learner_dir(student)
        if not home.exists():
            home.mkdir(parents=True)
            (home / "nbgrader_config.py").write_text(
                f"c = get_config()\nc.Exchange.root = {str(self.exchange)!r}\n"
                f"c.CourseDirectory.student_id = {student!r}\n")
        # Their own home too: nbgrader keeps a learner's submissions in a cache under
        # Jupyter's data folder, and fetch_feedback looks for feedback by what is there.
        own = {"HOME": str(home), "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
               "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(home / ".runtime")}
        proc = nbgrader(home, *args, f"--course={COURSE}", env=self._env(own))
        self.log.append(proc.stdout + proc.stderr)
        return proc.stdout + proc.stderr

    @staticmethod
    def _env(extra: dict) -> dict:
        return {**os.environ, **extra}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _text(html_file: Path) -> str:
    """What a browser shows of an HTML file: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_file.read_text()))


def _feedback(classroom: Classroom, student: str) -> Path:
    found = sorted((classroom.learner_dir(student) / NAME / "feedback").glob(f"*/{NAME}.html"))
    assert len(found) == 1, f"{student} should have fetched one feedback file, found {found}"
    return found[0]


def _secret_lines(source_nb: dict, released_nb: dict) -> list[str]:
    """Hidden-test lines that appear nowhere in the learner's copy (so finding one leaks)."""
    released = {line.strip() for cell in released_nb["cells"] for line in cell_source(cell).splitlines()}
    secret = []
    for cell in source_nb["cells"]:
        src = cell_source(cell)
        lines = src.split("\n")
        for number in sorted(hidden_lines(src)):
            line = lines[number - 1].strip()
            if len(line) > 12 and "HIDDEN TESTS" not in line and line not in released:
                secret.append(line)
    return secret


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Classroom:
    room = Classroom(tmp_path_factory.mktemp("class"))
    room.teach("generate_assignment", NAME, "--force")
    room.teach("release_assignment", NAME, "--force")
    listed = room.learn("alice", "list")
    assert NAME in listed, f"the released assignment should be listed:\n{listed}"

    source_nb = _load(ROOT / "solutions" / NAME / NOTEBOOK)
    wrong = {}   # carol's: one wrong answer per exercise that passes the visible tests (a hidden test catches it)
    for w in runpy.run_path(str(ROOT / "tests" / "wrong_answers" / f"{NAME}.py"))["EACH_ALONE"]:
        if w["caught"] == "hidden":
            wrong.setdefault(w["grade_id"], w["source"])
    for student in LEARNERS:
        room.learn(student, "fetch_assignment", NAME)
        path = room.learner_dir(student) / NAME / NOTEBOOK
        nb = _load(path)
        if student == "alice":
            nb = fill_in(nb, model_answers(source_nb))
        elif student == "carol":
            nb = fill_in(nb, wrong)
            (cell,) = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == TAMPERED]
            cell["source"] = 'print("init_std: visible tests passed")'  # a locked cell, edited
        path.write_text(json.dumps(nb, indent=1))
        room.learn(student, "submit", NAME)

    room.teach("collect", NAME)
    room.teach("autograde", NAME, "--force", GENLAB_SMOKE="1")
    _grade_written_answers(room)
    room.teach("generate_feedback", NAME, "--force")
    room.teach("release_feedback", NAME)
    for student in LEARNERS:
        room.learn(student, "fetch_feedback", NAME)
    return room


def _grade_written_answers(room: Classroom) -> None:
    """The instructor's manual grading (what formgrade does): full marks for the model's
    written answers, zero for the others."""
    with Gradebook(f"sqlite:///{room.instructor / 'gradebook.db'}") as gb:
        for student in LEARNERS:
            nb = gb.find_submission_notebook(NAME, NAME, student)
            for grade in nb.grades:
                if grade.cell.cell_type == "markdown":
                    grade.manual_score = grade.max_score if student == "alice" else 0
        gb.db.commit()


def _scores(room: Classroom, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (score, max) for the autograded test cells of one submission."""
    with Gradebook(f"sqlite:///{room.instructor / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NAME, NAME, student)
        return {g.name: (g.score, g.max_score) for g in nb.grades if g.cell.cell_type == "code"}


def test_every_learner_submission_is_collected_under_their_own_id(classroom):
    for student in LEARNERS:
        submitted = classroom.instructor / "submitted" / student / NAME / NOTEBOOK
        assert submitted.exists(), f"{student}'s submission was not collected"
    assert not (classroom.instructor / "submitted" / "root").exists()


def test_grades_full_zero_and_tampering_not_rewarded(classroom):
    alice, bob, carol = (_scores(classroom, s) for s in LEARNERS)
    assert set(alice) == {"test_beta_binomial", "test_elbo_logistic", "test_init_std", "test_batch_norm_forward",
                          "test_deep_net"}
    assert all(score == top for score, top in alice.values()), f"alice should get full marks: {alice}"
    assert sum(top for _, top in alice.values()) == 13
    assert all(score == 0 for score, _ in bob.values()), f"bob left it unanswered: {bob}"
    # carol's edited cell was put back from the gradebook's checksummed copy and run as written.
    assert carol[TAMPERED][0] == 0, f"the tampered test cell must not score: {carol}"
    assert sum(s for s, _ in carol.values()) < sum(s for s, _ in alice.values())
    autograded = _load(classroom.instructor / "autograded" / "carol" / NAME / NOTEBOOK)
    (cell,) = [c for c in autograded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == TAMPERED]
    assert "check_" in cell_source(cell), "autograde should have restored the original test cell"
    log = "\n".join(classroom.log)
    assert re.search(rf"Attribute 'checksum' for cell {TAMPERED} has changed", log), \
        "nbgrader's autograde should report the checksum mismatch of the edited cell"


def test_feedback_reaches_each_learner_with_their_own_score(classroom):
    seen = {}
    for student in LEARNERS:
        text = _text(_feedback(classroom, student))
        match = re.search(rf"{NAME} \(Score: ([\d.]+) / ([\d.]+)\)", text)
        assert match, f"{student}'s feedback has no score line"
        seen[student] = float(match.group(1))
        with Gradebook(f"sqlite:///{classroom.instructor / 'gradebook.db'}") as gb:
            expected = gb.find_submission(NAME, student).score
        assert seen[student] == pytest.approx(expected), f"{student}'s feedback shows someone else's score"
    assert seen == {"alice": 16, "bob": 0, "carol": 0}, f"full, zero, zero: {seen}"


def test_feedback_hides_hidden_tests_but_keeps_the_teaching_message(classroom):
    secret = _secret_lines(_load(ROOT / "solutions" / NAME / NOTEBOOK),
                           _load(classroom.learner_dir("bob") / NAME / NOTEBOOK))
    assert len(secret) >= 10, "01_foundations should have hidden tests to hide"
    for student in LEARNERS:
        text = _text(_feedback(classroom, student))
        leaked = [line for line in secret if line in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:3]}"
    carol = _text(_feedback(classroom, "carol"))
    assert "CheckFailed in a hidden test (its code is not shown)" in carol
    assert "hint:" in carol and "expected:" in carol


def test_instructor_can_choose_to_show_hidden_tests(classroom):
    """The same feedback with HideHiddenTests off shows them: the check above can fail."""
    out = classroom.instructor / "feedback_open"
    classroom.teach("generate_feedback", NAME, "--force", "--student=carol",
                    "--HideHiddenTests.enabled=False", f"--CourseDirectory.feedback_directory={out.name}")
    text = _text(out / "carol" / NAME / f"{NAME}.html")
    secret = _secret_lines(_load(ROOT / "solutions" / NAME / NOTEBOOK),
                           _load(classroom.learner_dir("bob") / NAME / NOTEBOOK))
    assert sum(line in text for line in secret) >= len(secret) // 2
