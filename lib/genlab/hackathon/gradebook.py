"""The hackathon's scores in nbgrader's gradebook, so the leaderboard reads one source of truth.

Each track has a hidden export cell worth ``team.TRACK_POINTS`` in 13_hackathon; autograde gives it
full points when the team's code exported its artifact. The scorer then writes, per team:

- the track's points as the export cell's ``manual_score`` (a human grader's override in nbgrader:
  formgrader shows it, ``nbgrader export`` exports it), zero for a team that was stopped,
  crashed or tripped the guard;
- the raw numbers and the status as the ``manual_comment`` of the track's solution cell
  (``train_generator``, ``make_strategy``): a line of text for a person, then ``hackathon:`` and
  the JSON the leaderboard parses.

A team the grader killed may have no submission in the gradebook yet; ``record`` creates it
(``Gradebook.add_submission`` makes its grade and comment rows), so every team has a row.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from nbgrader.api import Gradebook, MissingEntry

from .autograde import ASSIGNMENT, TRACKS

SOLUTION_CELLS = {"generator": "train_generator", "search": "make_strategy"}
PREFIX = "hackathon: "


@dataclass
class TrackScore:
    """One team's result on one track: ``points`` in [0, TRACK_POINTS]; ``metrics`` the raw numbers."""

    status: str
    points: float
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def comment(self) -> str:
        numbers = ", ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        human = f"{self.status}: {self.points:.1f} points" + (f" ({numbers})" if numbers else "") + \
            (f"; {self.reason}" if self.reason else "")
        return human + "\n" + PREFIX + json.dumps(asdict(self))


def _submission(gb: Gradebook, assignment: str, team: str):
    try:
        return gb.find_submission(assignment, team)
    except MissingEntry:
        gb.update_or_create_student(team)
        return gb.add_submission(assignment, team)


def record(db_url: str, team: str, scores: dict[str, TrackScore], assignment: str = ASSIGNMENT) -> None:
    """Write one team's track scores into the gradebook (see the module doc)."""
    with Gradebook(db_url) as gb:
        _submission(gb, assignment, team)
        for track, score in scores.items():
            grade = gb.find_grade(TRACKS[track], assignment, assignment, team)
            grade.manual_score = score.points
            comment = gb.find_comment(SOLUTION_CELLS[track], assignment, assignment, team)
            comment.manual_comment = score.comment()
        gb.db.commit()


def read(db_url: str, assignment: str = ASSIGNMENT) -> dict[str, dict[str, TrackScore]]:
    """team -> track -> its score, for every team the scorer has written (others are left out)."""
    out: dict[str, dict[str, TrackScore]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.assignment_submissions(assignment):
            for track, cell in SOLUTION_CELLS.items():
                try:
                    text = gb.find_comment(cell, assignment, assignment, sub.student.id).manual_comment or ""
                except MissingEntry:
                    continue
                line = next((x for x in text.splitlines() if x.startswith(PREFIX)), None)
                if line is not None:
                    out.setdefault(sub.student.id, {})[track] = TrackScore(**json.loads(line[len(PREFIX):]))
    return out
