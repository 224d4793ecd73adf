"""Run a command under two guards; when one fires, record *why* before killing it.

A notebook run that never ends has to explain itself: was the kernel still computing, waiting
for a lock, or idle while the client waited for a reply that never came? ``run_guarded`` starts
a command (papermill's runner, an nbgrader command) and watches the CPU time of its whole
process tree (the runner and the kernel it started):

- after ``nudge_after`` seconds with (almost) no CPU used by the tree, everybody is waiting for
  somebody. The watchdog records the stacks, then **nudges** each kernel in the tree: it opens
  a *new* connection to the kernel (its connection file is on the kernel's command line) and
  asks for ``kernel_info``. That cannot harm a run, and it frees the hang that ipykernel 7.0–7.3
  could fall into (ipykernel #1529 / #1554): a reply sent raw on the shell socket consumes the
  socket's edge-triggered wake-up, a request that arrives meanwhile is never read, and nor is
  anything after it on that connection — only a new connection wakes the socket again. If the
  run then uses CPU again, it goes on and the record says it was nudged;
- the **stall guard** fires when the tree has used no CPU for ``stall_after`` seconds: a hang.
  It cannot fire on a run that is merely slow (a busy machine, a cold cache): such a run keeps
  using CPU;
- the **time guard** fires after ``timeout`` seconds whatever happens, so CI always ends.

When a guard fires it records the Python stacks of every process in the tree with ``py-spy
dump`` (from PyPI) and each process's CPU time, then kills the whole tree (an orphaned kernel
would otherwise keep running). ``genlab.course.execute`` and ``genlab.course.build.nbgrader``
use it; ``python -m genlab.course stress`` counts what it catches.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
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
    nudges: list[str] = field(default_factory=list)   # what each nudge found (see the module doc)


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


def _tree_sum(pid: int, measure) -> float:
    """``measure(process)`` summed over ``pid`` and every live process under it (a process that
    ends while we look counts zero)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.Error:
            pass
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live process under it."""
    return _tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2]))


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every live process under it, in MB (shared pages counted
    in each process: an over-estimate, on the safe side for a limit; genlab.hackathon.limits)."""
    return _tree_sum(pid, lambda proc: proc.memory_info().rss) / 2**20


def nudge_kernels(pid: int, wait: float = 10.0) -> list[str]:
    """Ask every Jupyter kernel under ``pid`` for ``kernel_info`` over a new connection.

    Harmless for a working kernel (it answers when it can); for a kernel whose shell socket
    lost its wake-up, the new connection wakes it and the requests waiting there are read.
    Returns one line per kernel: whether and how fast it answered."""
    from jupyter_client import BlockingKernelClient

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in procs:
        try:
            cmd = proc.cmdline()
        except psutil.Error:
            continue
        if "ipykernel_launcher" not in " ".join(cmd) or "-f" not in cmd:
            continue
        client = BlockingKernelClient(connection_file=cmd[cmd.index("-f") + 1])
        try:
            client.load_connection_file()
            client.start_channels()
            start = time.monotonic()
            msg_id = client.kernel_info()
            try:
                while client.get_shell_msg(timeout=wait)["parent_header"].get("msg_id") != msg_id:
                    pass
                found.append(f"kernel {proc.pid} answered kernel_info in {time.monotonic() - start:.2f} s")
            except Exception:   # queue.Empty: busy, or not listening
                found.append(f"kernel {proc.pid} did not answer kernel_info within {wait:.0f} s")
        except Exception as err:  # a kernel that is going away; the guard still decides
            found.append(f"kernel {proc.pid}: nudge failed ({err})")
        finally:
            client.stop_channels()
    return found


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
                nudge_after: float | None = None, env: dict | None = None,
                cwd: str | os.PathLike | None = None, preexec_fn=None, poll: float = 5.0) -> Guarded:
    """Run ``cmd`` capturing its output, under the time guard (``timeout`` seconds) and, when
    given, the stall guard (``stall_after``) with its nudge (``nudge_after``); see the module
    doc. When a guard fires: record the stacks of the process tree, kill it, return with
    ``timed_out=True`` (and ``hung=True`` for a stall). ``preexec_fn`` runs in the child before
    it starts (``conditions.join_cgroup``)."""
    if timeout <= 0 or any(x is not None and x <= 0 for x in (stall_after, nudge_after)):
        raise ValueError(f"timeout, stall_after and nudge_after must be positive seconds, "
                         f"got {timeout}, {stall_after}, {nudge_after}")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=preexec_fn)
    start = last = progress = time.monotonic()
    cpu, nudged, nudges = 0.0, False, []
    while True:
        try:
            out, err = proc.communicate(timeout=poll)   # retrying loses no output
            if nudged:
                nudges.append(f"the run finished {time.monotonic() - progress:.0f} s into the stall")
            return Guarded(proc.returncode, out, err, nudges=nudges)
        except subprocess.TimeoutExpired:
            pass
        now, used = time.monotonic(), tree_cpu_seconds(proc.pid)
        if used - cpu > STALL_CPU * (now - last):
            if nudged:
                nudges.append(f"CPU use resumed {now - progress:.0f} s into the stall: the run goes on")
            progress, nudged = now, False
        cpu, last = used, now
        if now - start >= timeout:
            reason, hung = f"still running after {timeout:.0f} s (time guard)", False
        elif stall_after is not None and now - progress >= stall_after:
            reason, hung = f"hung: no CPU progress for {now - progress:.0f} s (stall guard)", True
        else:
            if nudge_after is not None and not nudged and now - progress >= nudge_after:
                nudged = True
                nudges.append(f"no CPU progress for {now - progress:.0f} s; stacks then:\n"
                              + describe_tree(proc.pid))
                nudges += nudge_kernels(proc.pid)
            continue
        stacks = describe_tree(proc.pid)
        kill_tree(proc.pid)
        out, err = proc.communicate()
        return Guarded(proc.returncode, out, err, timed_out=True, hung=hung, stacks=stacks,
                       reason=reason, nudges=nudges)
