"""Grade every team with nbgrader's autograde, one team per call, each under hard limits.

For each team in ``submitted/`` (what ``nbgrader collect`` or ``zip_collect`` leaves): one
``nbgrader autograde ASSIGNMENT --student TEAM`` under ``limits.run_limited`` (wall time and
memory of nbgrader *and* the team's kernel), with the environment the locked set-up cell reads:
the generator's CPU budget, the team's own export folder, and the folders the guard must protect
(this grading folder, the other teams' submissions, the instructor's source, the gradebook).
A team that is stopped, crashes the grader or trips the guard gets a status and a reason; the
next team starts from a fresh process, so nothing it did reaches anyone else.

The result of each call is one ``TeamRun`` in ``<grading>/runs.json``; the scorer
(``genlab.hackathon.score``) reads it and the exported artifacts afterwards.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from genlab.course import SOURCE

from . import guard, team
from .limits import run_limited

ASSIGNMENT = "13_hackathon"
TRACKS = {"generator": "export_generator", "search": "export_search"}   # track -> its hidden export cell
STATUSES = ("ok", "time limit", "memory limit", "crashed", "guard")


@dataclass
class TeamRun:
    """One team's autograde call: how it ended, and per track whether its artifact exists and why not."""

    team: str
    status: str                       # one of STATUSES, for the whole submission
    reason: str
    seconds: float
    peak_mb: float
    tracks: dict[str, str]            # track -> "ok" or the error that stopped its export cell
    export_dir: str


def _errors(notebook: Path) -> dict[str, str]:
    """grade_id (or cell index) -> "Name: message" for every cell of an autograded notebook that raised."""
    out = {}
    if not notebook.exists():
        return out
    for i, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                key = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {i}")
                out[key] = f"{o.get('ename')}: {o.get('evalue')}"[:500]
    return out


def classify(run, errors: dict[str, str], export_dir: Path) -> tuple[str, str, dict[str, str]]:
    """The team's status, its reason, and each track's state, from the limited run and its notebook."""
    files = {"generator": team.SAMPLES_FILE, "search": team.SEARCH_FILE}
    if run.stopped:
        return run.stopped, run.reason, {t: run.stopped for t in TRACKS}
    denied = [e for e in errors.values() if guard.RULE in e]
    opened = [line for line in run.stderr.splitlines() if line.startswith("HACKATHON GUARD denied open(")]
    if denied or opened:
        return "guard", (denied or opened)[0][:300], {t: "guard" for t in TRACKS}
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-1:] or ["no output"]
        return "crashed", f"the grader exited with {run.returncode}: {tail[0][:300]}", {t: "crashed" for t in TRACKS}
    tracks = {t: "ok" if (export_dir / files[t]).exists() else errors.get(cell, "no artifact exported")
              for t, cell in TRACKS.items()}
    failed = {t: why for t, why in tracks.items() if why != "ok"}
    if failed:
        return "crashed", "; ".join(f"{t}: {why}" for t, why in failed.items())[:500], tracks
    return "ok", "", tracks


def grade_team(root: Path, name: str, grading: Path, *, db_url: str, wall_s: float, memory_mb: float,
               budget_s: float, assignment: str = ASSIGNMENT) -> TeamRun:
    """Autograde one team under the limits (see the module doc)."""
    export_dir = grading / "artifacts" / name
    export_dir.mkdir(parents=True, exist_ok=True)
    for old in export_dir.iterdir():
        old.unlink()
    deny = [grading, root / "submitted", root / SOURCE]   # the gradebook: guard denies every gradebook.db
    env = dict(os.environ, GENLAB_SMOKE=os.environ.get("GENLAB_SMOKE", "1"), MPLBACKEND="Agg",
               **{team.BUDGET_ENV: f"{budget_s:g}", team.EXPORT_ENV: str(export_dir.resolve()),
                  guard.DENY_ENV: os.pathsep.join(str(p.resolve()) for p in deny)})
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={name}", "--force",
           f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url={db_url}"]
    run = run_limited(cmd, wall_s=wall_s, memory_mb=memory_mb, env=env, cwd=root)
    errors = _errors(root / "autograded" / name / assignment / f"{assignment}.ipynb")
    status, reason, tracks = classify(run, errors, export_dir)
    return TeamRun(name, status, reason, round(run.seconds, 1), round(run.peak_mb), tracks, str(export_dir))


def teams(root: Path, assignment: str = ASSIGNMENT) -> list[str]:
    """Every team with a submission of ``assignment`` in ``submitted/``, sorted."""
    folder = root / "submitted"
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir()) if folder.is_dir() else []


def grade_all(root: Path, grading: Path, *, db_url: str, wall_s: float, memory_mb: float, budget_s: float,
              names: list[str] | None = None, assignment: str = ASSIGNMENT, echo=print) -> list[TeamRun]:
    """Grade each team in turn; write ``<grading>/runs.json`` (teams graded earlier stay in it, so a
    late submission can be graded alone with ``names``)."""
    grading.mkdir(parents=True, exist_ok=True)
    earlier = {r.team: r for r in read_runs(grading)} if (grading / "runs.json").exists() else {}
    runs = []
    for name in names or teams(root, assignment):
        echo(f"grading {name} (limits: {wall_s:g} s, {memory_mb:g} MB; budget {budget_s:g} CPU-s) ...")
        r = grade_team(root, name, grading, db_url=db_url, wall_s=wall_s, memory_mb=memory_mb,
                       budget_s=budget_s, assignment=assignment)
        echo(f"  {r.status} after {r.seconds:.1f} s, {r.peak_mb:.0f} MB{': ' + r.reason if r.reason else ''}")
        runs.append(r)
    earlier.update({r.team: r for r in runs})
    (grading / "runs.json").write_text(json.dumps([asdict(r) for r in earlier.values()], indent=1))
    return runs


def read_runs(grading: Path) -> list[TeamRun]:
    return [TeamRun(**r) for r in json.loads((grading / "runs.json").read_text())]


__all__ = ["ASSIGNMENT", "STATUSES", "TRACKS", "TeamRun", "classify", "grade_all", "grade_team", "read_runs",
           "teams", "cell_source"]
