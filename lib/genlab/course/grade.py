"""The grading cycle, through nbgrader's real autograde and gradebook.

Used by the tests to prove every assignment both ways (a correct submission gets full
marks, an unanswered one gets zero) and by instructors to dry-run an edited assignment:
``python -m genlab.course grade``.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook

from . import RELEASE, SOURCE, Assignment, cell_source
from .build import NBGRADER_GUARD, nbgrader
from .feedback import failing_line, hidden_lines

NOTEBOOK_JSON = dict  # a notebook as parsed JSON (nbformat 4)


@dataclass
class Failure:
    """A test cell that raised in a student's autograded notebook, and where: in its visible
    tests (what the learner's Validate button runs) or in the hidden ones."""

    notebook: str
    grade_id: str
    where: str              # "visible" or "hidden"
    message: str


@dataclass
class CellScore:
    """One graded cell of one submission, as the gradebook holds it."""

    notebook: str
    grade_id: str
    kind: str               # "autograded test", "written answer", ...
    score: float | None     # None: waits for a human (a written answer with some text in it)
    max_score: float


def _load(path: Path) -> NOTEBOOK_JSON:
    return json.loads(path.read_text())


def _strip_markers(source: str) -> str:
    keep = [line for line in source.splitlines()
            if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(keep)


def model_answers(source_nb: NOTEBOOK_JSON) -> dict[str, str]:
    """grade_id -> the instructor's answer, markers removed, for every solution cell."""
    answers = {}
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = _strip_markers(cell_source(cell))
    return answers


def fill_in(release_nb: NOTEBOOK_JSON, answers: dict[str, str]) -> NOTEBOOK_JSON:
    """A copy of the student notebook with the given solution cells answered."""
    nb = copy.deepcopy(release_nb)
    known = set()
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
            known.add(grade_id)
    unknown = set(answers) - known
    if unknown:
        raise ValueError(f"no cells with grade_id {sorted(unknown)} in this notebook")
    return nb


def exercises_only(nb: NOTEBOOK_JSON) -> NOTEBOOK_JSON:
    """A copy of ``nb`` without its experiment cells: the markdown, the code cells before the first
    exercise (parameters, imports, data) and every nbgrader cell are kept, every other code cell is
    dropped. Grading one wrong answer alone then costs the set-up and the tests, not the
    notebook's experiments (design.md, "Grading"); a wrong-answers file opts in with
    ``EXERCISES_ONLY = True`` when its test cells need nothing from the experiments."""
    out = copy.deepcopy(nb)
    cells, seen_exercise = [], False
    for cell in out["cells"]:
        graded = bool(cell.get("metadata", {}).get("nbgrader"))
        seen_exercise = seen_exercise or graded
        if cell["cell_type"] != "code" or graded or not seen_exercise:
            cells.append(cell)
    out["cells"] = cells
    return out


class GradingRun:
    """A throwaway nbgrader course with one assignment, students submitting into it.

    By default the assignment is generated here by nbgrader. ``built`` = ``(release_root,
    gradebook)`` reuses a build of the course instead (``build.build_each``): the assignment's
    released notebooks and a copy of the gradebook that recorded its cells and checksums — so a
    test run builds the course once, not again for every grading cycle."""

    def __init__(self, assignment: Assignment, workdir: Path, timeout: float = NBGRADER_GUARD,
                 built: tuple[Path, Path] | None = None):
        self.assignment = assignment
        self.root = workdir
        self.timeout = timeout
        self.nudges: list[str] = []   # stalls the watchdog nudged in this run's nbgrader commands
        self.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
        shutil.copy(assignment.root / "nbgrader_config.py", workdir / "nbgrader_config.py")
        shutil.copytree(assignment.source_dir, workdir / SOURCE / assignment.name)
        if built is None:
            self._nbgrader("generate_assignment", assignment.name, "--force")
        else:
            release_root, gradebook = built
            shutil.copytree(release_root / assignment.name, self.release_dir)
            shutil.copy(gradebook, workdir / "gradebook.db")

    def _nbgrader(self, *args: str) -> None:
        env = dict(os.environ, GENLAB_SMOKE="1")  # graded cells don't depend on training size
        proc = nbgrader(self.root, *args, f"--CourseDirectory.root={self.root}",
                        f"--CourseDirectory.db_url={self.db_url}", env=env, timeout=self.timeout)
        self.nudges += proc.nudges

    @property
    def release_dir(self) -> Path:
        return self.root / RELEASE / self.assignment.name

    def released(self) -> dict[str, NOTEBOOK_JSON]:
        return {p.name: _load(p) for p in sorted(self.release_dir.glob("*.ipynb"))}

    def answered(self, overrides: dict[str, dict[str, str]] | None = None) -> dict[str, NOTEBOOK_JSON]:
        """The released notebooks filled in with the model answers, then with ``overrides``
        ({notebook name: {grade_id: source}}) — e.g. plausible wrong answers."""
        overrides = overrides or {}
        out = {}
        for name, nb in self.released().items():
            answers = model_answers(_load(self.assignment.source_dir / name))
            out[name] = fill_in(nb, {**answers, **overrides.get(name, {})})
        return out

    def submit(self, student: str, notebooks: dict[str, NOTEBOOK_JSON]) -> None:
        """Place a student's notebooks (and the released data files) as nbgrader's 'submitted'."""
        target = self.root / "submitted" / student / self.assignment.name
        shutil.copytree(self.release_dir, target, dirs_exist_ok=True)
        for name, nb in notebooks.items():
            (target / name).write_text(json.dumps(nb, indent=1))

    def autograde(self) -> None:
        self._nbgrader("autograde", self.assignment.name, "--force")

    def failures(self, student: str) -> list[Failure]:
        """Every test cell that failed in ``student``'s autograded notebooks, each classified by
        the line it failed on (``feedback.failing_line`` inside ``feedback.hidden_lines``).

        This answers "do these answers pass the visible tests?" from the autograde run itself,
        without executing the notebook again under nbgrader's Validator."""
        out = []
        folder = self.root / "autograded" / student / self.assignment.name
        for path in sorted(folder.glob("*.ipynb")):
            for cell in _load(path)["cells"]:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if cell["cell_type"] != "code" or not meta.get("grade") or meta.get("solution"):
                    continue
                hidden = hidden_lines(cell_source(cell))
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        where = "hidden" if failing_line(output.get("traceback", [])) in hidden else "visible"
                        out.append(Failure(path.name, meta["grade_id"], where,
                                           f"{output.get('ename')}: {output.get('evalue')}"))
        return out

    def run_record(self, student: str) -> tuple[float, list[str]]:
        """How ``student``'s autograde ran: the seconds from the first cell's start to the last
        cell's reply (nbclient's per-cell timestamps; the kernel's start-up is not included) and
        every cell that raised, as "notebook cell N: error". Graded cells run in SMOKE mode,
        so for the model student this is the SMOKE run of the whole notebook."""
        seconds, errors = 0.0, []
        folder = self.root / "autograded" / student / self.assignment.name
        for path in sorted(folder.glob("*.ipynb")):
            stamps = []
            for i, cell in enumerate(_load(path)["cells"]):
                times = cell.get("metadata", {}).get("execution", {})
                stamps += [datetime.fromisoformat(times[k].replace("Z", "+00:00"))
                           for k in ("iopub.status.busy", "shell.execute_reply") if k in times]
                errors += [f"{path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
                           for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if not stamps:
                raise ValueError(f"{path} has no execution timestamps (nbclient's record_timing)")
            seconds += (max(stamps) - min(stamps)).total_seconds()
        return seconds, errors

    def scores(self, student: str) -> list[CellScore]:
        """Every graded cell of ``student``'s autograded submission."""
        out = []
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(self.assignment.name, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    kind = {"code": "autograded test", "markdown": "written answer"}.get(
                        grade.cell.cell_type, grade.cell.cell_type)
                    if grade.cell.cell_type == "code" and grade.auto_score is None:
                        kind = "manually graded code"
                    score = None if grade.needs_manual_grade and grade.manual_score is None else grade.score
                    out.append(CellScore(nb.name, grade.name, kind, score, grade.max_score))
        return out
