"""Execute notebooks with papermill and record wall time and the kernel's peak memory.

Each notebook runs in a fresh child process (``python -m genlab.course.execute NB OUT``)
that starts the kernel, so the child's ``RUSAGE_CHILDREN`` peak RSS is exactly the
kernel's peak: measured by the OS, not sampled. A child that outlives the guard is killed with
its kernel, and the Python stacks of both are kept in the record (``genlab.course.watchdog``).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .conditions import CONDITIONS, Cgroup, join_cgroup
from .watchdog import run_guarded

# Targets on a quiet 2-core machine, and the guard: what a busy or Binder-sized machine must meet
# (README, "Budgets"); CI fails a notebook over the guard.
TARGET_SECONDS, TARGET_MB = 180, 1536
GUARD_SECONDS, GUARD_MB = 360, 2048
STALL_SECONDS = 120   # no CPU progress in runner and kernel for this long: a hang (watchdog.py)
NUDGE_SECONDS = 30    # ... for this long: record the stacks and nudge the kernel (watchdog.py)


@dataclass
class Record:
    """What one execution measured. ``ok`` is False on a cell error or a blown guard."""

    notebook: str
    smoke: bool
    seconds: float
    peak_rss_mb: float
    ok: bool
    error: str | None = None
    stacks: str | None = None   # runner's and kernel's Python stacks, when the guard killed it
    condition: str = "quiet"    # quiet, busy or binder (genlab.course.conditions)
    hung: bool = False          # killed by the stall guard: no CPU progress (watchdog.py)
    nudges: list[str] = field(default_factory=list)   # stalls the watchdog nudged, and what happened

    @property
    def within_target(self) -> bool:
        return self.seconds <= TARGET_SECONDS and self.peak_rss_mb <= TARGET_MB


def _run_here(notebook: Path, output: Path, smoke: bool) -> dict:
    """Child side: execute with papermill, then read the reaped kernel's peak RSS."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .kernel_polling import install
    install()   # no hang on widget cells (nbclient #312): see kernel_polling.py

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters={"SMOKE": smoke},
                                   cwd=str(notebook.parent), kernel_name="python3",
                                   progress_bar=False, log_output=False)
    except PapermillExecutionError as err:
        error = f"cell {err.exec_count}: {err.ename}: {err.evalue}"
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1), "error": error}


def execute_notebook(notebook: Path, output: Path, *, smoke: bool = False,
                     root: Path | None = None, kill_after: float = GUARD_SECONDS + 60,
                     stall_after: float = STALL_SECONDS, condition: str = "quiet",
                     cgroup: Cgroup | None = None) -> Record:
    """Execute one notebook in a child process and return its ``Record``.

    A notebook over the CI guard fails even when every cell passed; one still running after
    ``kill_after`` seconds is killed, and its record keeps the stacks of runner and kernel.
    A run whose runner and kernel stop using CPU for ``NUDGE_SECONDS`` is nudged (its stacks go
    into ``record.nudges``); one that stays that way for ``stall_after`` seconds is hung and
    killed at once, with the same record. ``condition`` names what the caller arranged around the run
    (``conditions.condition``); with ``cgroup`` the runner and its kernel run inside it.
    """
    env = dict(os.environ, GENLAB_SMOKE="1" if smoke else "0")
    name = str(notebook.relative_to(root)) if root else notebook.name
    cmd = [sys.executable, "-m", "genlab.course.execute", str(notebook), str(output)]
    if smoke:
        cmd.append("--smoke")
    proc = run_guarded(cmd, timeout=kill_after, stall_after=stall_after,
                       nudge_after=min(NUDGE_SECONDS, stall_after), env=env, preexec_fn=join_cgroup(cgroup))
    if proc.timed_out:
        return Record(name, smoke, 0.0, 0.0, False, f"killed: {proc.reason}; see its stacks",
                      proc.stacks, condition, proc.hung, proc.nudges)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return Record(name, smoke, 0.0, 0.0, False,
                      f"runner crashed (exit {proc.returncode}): {proc.stderr[-2000:]}", None, condition)
    result = json.loads(lines[-1])
    record = Record(name, smoke, result["seconds"], result["peak_rss_mb"], result["error"] is None,
                    result["error"], None, condition, False, proc.nudges)
    if record.ok and (record.seconds > GUARD_SECONDS or record.peak_rss_mb > GUARD_MB):
        record.ok = False
        record.error = (f"over the CI guard: {record.seconds:.0f} s / {record.peak_rss_mb:.0f} MB "
                        f"(guard {GUARD_SECONDS} s / {GUARD_MB} MB)")
    return record


def update_report(path: Path, records: list[Record]) -> list[Record]:
    """Merge ``records`` into the JSON report at ``path`` (one entry per notebook, mode and condition).

    Safe when several processes update the report at once (the test suite's workers): the
    read-merge-write happens under an exclusive lock on a side file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = json.loads(path.read_text()) if path.exists() else []
        key = lambda r: (r["notebook"], r["smoke"], r.get("condition", "quiet"))  # noqa: E731
        merged = {key(r): r for r in old}
        merged.update({key(asdict(r)): asdict(r) for r in records})
        rows = sorted(merged.values(), key=lambda r: (r["smoke"], CONDITIONS.index(r.get("condition", "quiet")),
                                                      r["notebook"]))
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows, indent=1) + "\n")
        tmp.replace(path)
    return [Record(**{k: v for k, v in r.items() if k in Record.__dataclass_fields__}) for r in rows]


def format_table(records: list[Record]) -> str:
    """A plain-text table of records, with the budget verdict per notebook."""
    lines = [f"{'notebook':<48} {'mode':<5} {'condition':<9} {'time':>7} {'peak RSS':>9}  verdict"]
    for r in records:
        limit = TARGET_SECONDS if r.condition == "quiet" else GUARD_SECONDS
        verdict = "FAIL: " + (r.error or "") if not r.ok else (
            "ok" if r.smoke or (r.seconds <= limit and r.peak_rss_mb <= TARGET_MB) else "over target")
        lines.append(f"{r.notebook:<48} {'smoke' if r.smoke else 'full':<5} {r.condition:<9} "
                     f"{r.seconds:>6.1f}s {r.peak_rss_mb:>7.0f}MB  {verdict}")
    total = sum(r.seconds for r in records)
    lines.append(f"{'total':<48} {'':<5} {'':<9} {total:>6.1f}s")
    return "\n".join(lines)


if __name__ == "__main__":  # the child process started by execute_notebook
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    print(json.dumps(_run_here(args.notebook.resolve(), args.output.resolve(), args.smoke)))
