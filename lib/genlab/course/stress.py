"""``python -m genlab.course stress``: run the course the way a busy machine runs it, and count hangs.

Each round executes every notebook in SMOKE mode (``--jobs`` at a time, through the same runner
as ``execute``) and autogrades a batch of ``--students`` submissions of one assignment through
nbgrader (assignments in turn), while one CPU-bound program per usable CPU runs beside them
(``--hogs``). Every run is watched (``watchdog.run_guarded``): a run whose processes stop using
CPU for 30 s is nudged (counted, with its stacks, and the executed notebook kept under
``reports/stress/``); one that stays stalled for two minutes is a **hang**; one still running
after ``--kill-after`` seconds is a failure (too slow). Either way its runner's and kernel's
Python stacks go into the report. A round also checks the results: a notebook must pass, and
every model-answer submission must score full marks.

The report (``reports/stress.json``) lists every run; the summary line counts notebook
executions, autograded submissions, hangs and failures. Exit status 1 on any hang or failure.
"""
from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import Assignment, assignments
from .conditions import cpu_hogs
from .execute import execute_notebook
from .grade import GradingRun
from .watchdog import Hung


@dataclass
class Run:
    """One guarded run under load: a notebook execution or an autograde batch."""

    kind: str            # "notebook" or "autograde"
    name: str
    round: int
    seconds: float
    ok: bool
    hung: bool
    count: int = 1       # submissions graded, for an autograde batch
    error: str | None = None
    stacks: str | None = None
    nudges: list[str] = field(default_factory=list)   # stalls nudged by the watchdog


def _notebook_run(nb: Path, out_dir: Path, rnd: int, root: Path, kill_after: float) -> Run:
    out = out_dir / f"r{rnd}" / nb.parent.name / nb.name
    record = execute_notebook(nb, out, smoke=True, root=root, kill_after=kill_after)
    if (record.hung or record.nudges) and out.exists():   # keep it: which cell, what it printed
        keep = root / "reports" / "stress" / f"r{rnd:03d}-{nb.name}"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, keep)
    return Run("notebook", record.notebook, rnd, record.seconds, record.ok, record.hung,
               error=record.error, stacks=record.stacks, nudges=record.nudges)


def _autograde_batch(assignment: Assignment, students: int, rnd: int, kill_after: float) -> Run:
    start = time.perf_counter()   # only reported: the watchdog guards the run
    with tempfile.TemporaryDirectory(prefix="genlab-stress-") as tmp:
        try:
            run = GradingRun(assignment, Path(tmp), timeout=kill_after)
            answered = run.answered()
            for i in range(students):
                run.submit(f"learner{i:02d}", answered)
            run.autograde()
            nudges = run.nudges
        except Hung as err:
            return Run("autograde", assignment.name, rnd, time.perf_counter() - start, False,
                       err.stalled, students, str(err), err.stacks)
        except RuntimeError as err:
            return Run("autograde", assignment.name, rnd, time.perf_counter() - start, False, False,
                       students, str(err)[-2000:])
        short = []
        for i in range(students):
            tests = [s for s in run.scores(f"learner{i:02d}") if s.kind == "autograded test"]
            if not tests or any(s.score != s.max_score for s in tests):
                short.append(f"learner{i:02d}")
    error = f"model answers below full marks for {short}" if short else None
    return Run("autograde", assignment.name, rnd, time.perf_counter() - start, not short, False,
               students, error, nudges=nudges)


def warm_caches() -> None:
    """Build the library's cached model (the digits judge of 02 and 04) before the load starts:
    a cold cache makes one run slower, which is not what this command hunts."""
    from ..metrics import load_judge
    from ..runtime import use_threads
    use_threads()   # the thread policy, as in a notebook: the same judge as theirs
    load_judge()


def stress(root: Path, *, rounds: int, hogs: int, jobs: int, students: int, kill_after: float,
           only: list[str] | None = None, report: Path | None = None) -> list[Run]:
    """Run ``rounds`` rounds under ``hogs`` CPU hogs; return every run (see the module doc)."""
    if min(rounds, jobs, students) < 1 or hogs < 0:
        raise ValueError("rounds, jobs and students must be >= 1 and hogs >= 0")
    chosen = [a for a in assignments(root) if not only or any(a.name.startswith(o) for o in only)]
    if not chosen:
        raise ValueError(f"no assignment matches {only}")
    notebooks = [nb for a in chosen for nb in a.notebooks]
    warm_caches()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="genlab-stress-out-") as out, cpu_hogs(hogs):
        for rnd in range(1, rounds + 1):
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(_notebook_run, nb, Path(out), rnd, root, kill_after)
                           for nb in notebooks]
                batch = pool.submit(_autograde_batch, chosen[(rnd - 1) % len(chosen)], students,
                                    rnd, kill_after)
                done = [f.result() for f in futures] + [batch.result()]
            runs += done
            _print_round(rnd, done, runs)
            if report:
                _write(report, runs)
    return runs


def summary(runs: list[Run]) -> dict:
    notebooks = [r for r in runs if r.kind == "notebook"]
    graded = [r for r in runs if r.kind == "autograde"]
    return {"notebook_executions": len(notebooks),
            "autograded_submissions": sum(r.count for r in graded),
            "hangs": sum(r.hung for r in runs),
            "stalls_freed_by_a_nudge": sum(bool(r.nudges) and not r.hung for r in runs),
            "failures": sum(not r.ok and not r.hung for r in runs),
            "slowest_notebook_s": max((r.seconds for r in notebooks), default=0.0)}


def _print_round(rnd: int, done: list[Run], runs: list[Run]) -> None:
    bad = [f"{r.name}: {'HUNG' if r.hung else r.error}" for r in done if not r.ok]
    bad += [f"{r.name}: stalled, nudged, went on ({r.nudges[-1][:120]})" for r in done if r.nudges and r.ok]
    s = summary(runs)
    print(f"round {rnd}: {len(done)} runs, {len(bad)} to note; so far {s['notebook_executions']} "
          f"notebook executions, {s['autograded_submissions']} autograded submissions, {s['hangs']} hangs, "
          f"{s['stalls_freed_by_a_nudge']} stalls freed by a nudge, {s['failures']} failures", flush=True)
    for line in bad:
        print(f"  {line[:500]}", flush=True)


def _write(path: Path, runs: list[Run]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"summary": summary(runs), "runs": [asdict(r) for r in runs]},
                               indent=1) + "\n")
