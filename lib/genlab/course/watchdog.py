"""Run a command under two guards; when one fires, record *why* before killing it.

A notebook run that never ends has to explain itself: was the kernel still computing, waiting
for a lock, or idle while the client waited for a reply that never came? ``run_guarded`` starts
a command (papermill's runner, an nbgrader command) and watches the CPU time of its whole
process tree (the runner and the kernel it started):

- the **stall guard** fires when the tree has used (almost) no CPU for ``stall_after`` seconds:
  everybody is waiting for somebody — a hang. It cannot fire on a run that is merely slow (a
  busy machine, a cold cache): such a run keeps using CPU;
- the **time guard** fires after ``timeout`` seconds whatever happens, so CI always ends.

Either way it records the Python stacks of every process in the tree with ``py-spy dump``
(from PyPI) and each process's CPU time, then kills the whole tree (an orphaned kernel would
otherwise keep running). ``genlab.course.execute`` and ``genlab.course.build.nbgrader`` use it;
``python -m genlab.course stress`` counts what it catches.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Guarded:
    """What a guarded command did. ``stacks`` is set only when the guard fired."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False     # a guard fired and killed the tree
    hung: bool = False          # ... and it was the stall guard: no CPU progress
    stacks: str | None = None
    reason: str | None = None


STALL_CPU = 0.05    # a tree using less than 5 % of one CPU is waiting, not working (an idle
                    # runner polling its kernel uses well under 1 %; a working kernel on a
                    # machine with a busy program per core gets 30 % or more)


class Hung(RuntimeError):
    """A guard killed a command; ``stacks`` says where every process was, ``stalled`` whether it
    was the stall guard (no CPU progress) rather than the time guard."""

    def __init__(self, message: str, stacks: str | None, stalled: bool = False):
        super().__init__(message)
        self.stacks, self.stalled = stacks, stalled


def py_spy() -> str | None:
    """The ``py-spy`` executable of this environment (or on PATH), if installed."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def describe_tree(pid: int) -> str:
    """Every process under ``pid`` (itself included): command line, state, CPU seconds, and its
    Python stacks (all threads) from ``py-spy dump`` where possible."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return f"process {pid} is gone"
    spy = py_spy()
    parts = []
    for proc in procs:
        try:
            with proc.oneshot():
                cmd = " ".join(proc.cmdline())[:300]
                cpu = proc.cpu_times()
                head = (f"=== pid {proc.pid} ({proc.status()}, user {cpu.user:.1f} s, "
                        f"system {cpu.system:.1f} s): {cmd}")
        except psutil.Error as err:
            parts.append(f"=== pid {proc.pid}: {err}")
            continue
        parts.append(head)
        if spy is None:
            parts.append("(no py-spy: pip install py-spy to see Python stacks)")
            continue
        try:
            dump = subprocess.run([spy, "dump", "--pid", str(proc.pid)], capture_output=True,
                                  text=True, timeout=60)
            parts.append((dump.stdout + dump.stderr).strip() or "(py-spy printed nothing)")
        except subprocess.TimeoutExpired:
            parts.append("(py-spy dump timed out)")
    return "\n".join(parts)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live process under it."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            cpu = proc.cpu_times()
            total += cpu.user + cpu.system
        except psutil.Error:
            pass
    return total


def kill_tree(pid: int) -> None:
    """Kill ``pid`` and every process under it, children first."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_guarded(cmd: list[str], *, timeout: float, stall_after: float | None = None,
                env: dict | None = None, cwd: str | os.PathLike | None = None, preexec_fn=None,
                poll: float = 5.0) -> Guarded:
    """Run ``cmd`` capturing its output, under the time guard (``timeout`` seconds) and, when
    ``stall_after`` is given, the stall guard (see the module doc). When a guard fires: record
    the stacks of the process tree, kill it, return with ``timed_out=True`` (and ``hung=True``
    for a stall). ``preexec_fn`` runs in the child before it starts (``conditions.join_cgroup``)."""
    if timeout <= 0 or (stall_after is not None and stall_after <= 0):
        raise ValueError(f"timeout and stall_after must be positive seconds, got {timeout}, {stall_after}")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=preexec_fn)
    start = last = progress = time.monotonic()
    cpu = 0.0
    while True:
        try:
            out, err = proc.communicate(timeout=poll)   # retrying loses no output
            return Guarded(proc.returncode, out, err)
        except subprocess.TimeoutExpired:
            pass
        now, used = time.monotonic(), tree_cpu_seconds(proc.pid)
        if used - cpu > STALL_CPU * (now - last):
            progress = now
        cpu, last = used, now
        if now - start >= timeout:
            reason, hung = f"still running after {timeout:.0f} s (time guard)", False
        elif stall_after is not None and now - progress >= stall_after:
            reason, hung = f"hung: no CPU progress for {now - progress:.0f} s (stall guard)", True
        else:
            continue
        stacks = describe_tree(proc.pid)
        kill_tree(proc.pid)
        out, err = proc.communicate()
        return Guarded(proc.returncode, out, err, timed_out=True, hung=hung, stacks=stacks, reason=reason)
