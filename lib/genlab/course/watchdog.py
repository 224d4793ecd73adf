"""Run a command under a time guard; when the guard fires, record *why* before killing it.

A notebook run that never ends has to explain itself: was the kernel still computing, waiting
for a lock, or idle while the client waited for a reply that never came? ``run_guarded`` starts
a command (papermill's runner, an nbgrader command); if it outlives its guard, it records the
Python stacks of every process in its tree — the runner and the kernel it started — with
``py-spy dump`` (from PyPI), with each process's CPU time, then kills the whole tree (an orphaned
kernel would otherwise keep running). ``genlab.course.execute`` and ``genlab.course.build.nbgrader``
use it; ``python -m genlab.course stress`` counts what it catches.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Guarded:
    """What a guarded command did. ``stacks`` is set only when the guard fired."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    stacks: str | None = None


class Hung(RuntimeError):
    """A guarded command outlived its guard; ``stacks`` says where every process was."""

    def __init__(self, message: str, stacks: str | None):
        super().__init__(message)
        self.stacks = stacks


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


def run_guarded(cmd: list[str], *, timeout: float, env: dict | None = None,
                cwd: str | os.PathLike | None = None) -> Guarded:
    """Run ``cmd`` capturing its output; after ``timeout`` seconds record the stacks of its
    process tree, kill the tree and return with ``timed_out=True``."""
    if timeout <= 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout}")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return Guarded(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        stacks = describe_tree(proc.pid)
        kill_tree(proc.pid)
        out, err = proc.communicate()
        return Guarded(proc.returncode, out, err, timed_out=True, stacks=stacks)
