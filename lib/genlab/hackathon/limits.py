"""Run a command under a hard wall-time limit and a hard memory limit on its whole process tree.

The hackathon grades each team's notebook with ``nbgrader autograde`` (one team per call); the
team's code runs in the kernel nbgrader starts. A runaway team must be stopped without harming
anyone else, so ``run_limited`` polls the tree (nbgrader and its kernel) every ``poll`` seconds
and kills all of it (``watchdog.kill_tree``) when

- the wall time passes ``wall_s`` (a team that trains for ever), or
- the tree's summed resident memory passes ``memory_mb`` (a team that allocates without end).

Why poll RSS rather than ``RLIMIT_AS``: an address-space limit counts *reserved* virtual memory,
and PyTorch (its allocator, its thread pools, CUDA/MKL stubs) reserves gigabytes it never
touches, so torch fails to import or to start threads under any limit that would still catch a
runaway. RSS counts what is really used; the price is that a tree can overshoot the limit by
what it allocates within one poll (``poll`` 0.2 s: a few hundred MB at most for numpy).

``watchdog.run_guarded`` (the course's notebook runner) has the time guard but no memory guard;
this is the small loop with both, reusing its ``kill_tree``.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

from genlab.course.watchdog import kill_tree, tree_rss_mb


@dataclass
class Limited:
    """What a limited command did. ``stopped`` is None, "time limit" or "memory limit"."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    stopped: str | None = None
    reason: str | None = None


def run_limited(cmd: list[str], *, wall_s: float, memory_mb: float, env: dict | None = None,
                cwd: str | os.PathLike | None = None, poll: float = 0.2) -> Limited:
    """Run ``cmd`` (output captured) and kill its tree at ``wall_s`` seconds or ``memory_mb`` MB."""
    if not (wall_s > 0 and memory_mb > 0 and poll > 0):
        raise ValueError(f"wall_s, memory_mb and poll must be positive, got {wall_s}, {memory_mb}, {poll}")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        peak, stopped, reason = 0.0, None, None
        while proc.poll() is None:
            elapsed, rss = time.monotonic() - start, tree_rss_mb(proc.pid)
            peak = max(peak, rss)
            if rss > memory_mb:
                stopped, reason = "memory limit", f"used {rss:.0f} MB, over the {memory_mb:.0f} MB limit"
            elif elapsed > wall_s:
                stopped, reason = "time limit", f"still running after {wall_s:.0f} s (the wall-time limit)"
            if stopped:
                kill_tree(proc.pid)
                break
            time.sleep(poll)
        proc.wait()
        seconds = time.monotonic() - start
        out.seek(0), err.seek(0)
        return Limited(proc.returncode, out.read(), err.read(), seconds, peak, stopped, reason)
