"""The watchdog: a hung run is told from a slow one, explains itself, and leaves nothing behind."""
from __future__ import annotations

import os
import sys
import time

import nbformat
import psutil
import pytest

from genlab.course.execute import execute_notebook
from genlab.course.watchdog import run_guarded

SLEEPER = "import time\ndef waiting_for_godot():\n    time.sleep(300)\nwaiting_for_godot()"
# A parent that starts a sleeping child (a stand-in for the kernel) and sleeps too.
FAMILY = ("import subprocess, sys, time\n"
          "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
          "print(child.pid, flush=True)\ntime.sleep(300)")


def test_the_stall_guard_catches_a_run_that_waits_and_records_its_stacks():
    start = time.monotonic()
    result = run_guarded([sys.executable, "-c", SLEEPER], timeout=120, stall_after=4, poll=0.5)
    assert result.timed_out and result.hung, result.reason
    assert time.monotonic() - start < 30
    assert "stall guard" in result.reason
    assert "waiting_for_godot" in result.stacks, result.stacks   # py-spy saw where it waited


def test_the_stall_guard_cannot_fire_on_a_run_that_computes():
    """Slow is not hung: a busy process is stopped only by the time guard."""
    result = run_guarded([sys.executable, "-c", "while True: pass"], timeout=6, stall_after=2, poll=0.5)
    assert result.timed_out and not result.hung
    assert "time guard" in result.reason


def test_a_guard_kills_the_whole_tree():
    result = run_guarded([sys.executable, "-c", FAMILY], timeout=60, stall_after=3, poll=0.5)
    assert result.hung
    child = int(result.stdout.split()[0])
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert result.stacks.count("=== pid") == 2   # parent and child both described


def test_a_finished_run_returns_its_output():
    result = run_guarded([sys.executable, "-c", "print('x' * 100_000)"], timeout=30, stall_after=5)
    assert not result.timed_out and result.returncode == 0 and len(result.stdout) == 100_001
    with pytest.raises(ValueError, match="positive seconds"):
        run_guarded([sys.executable, "-c", "pass"], timeout=0)


def test_a_hung_notebook_is_killed_with_the_kernels_stack(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("SMOKE = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(SLEEPER)]
    nbformat.write(nb, tmp_path / "hang.ipynb")
    record = execute_notebook(tmp_path / "hang.ipynb", tmp_path / "out.ipynb", stall_after=8)
    assert not record.ok and record.hung, record.error
    assert "ipykernel_launcher" in record.stacks and "waiting_for_godot" in record.stacks
    assert "papermill" in record.stacks   # the runner's stack too: it waits for the reply


def test_a_nudge_reaches_an_idle_kernel_over_a_new_connection():
    from jupyter_client import KernelManager

    from genlab.course.watchdog import nudge_kernels

    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.stop_channels()
        found = nudge_kernels(os.getpid())
        assert len(found) == 1 and "answered kernel_info" in found[0], found
    finally:
        km.shutdown_kernel(now=True)


def test_a_stalled_notebook_is_nudged_and_goes_on(tmp_path, monkeypatch):
    """A cell that waits 20 s: nudged after 4 s of no CPU (stacks recorded), not killed, and the
    record says the run went on."""
    from genlab.course import execute

    monkeypatch.setattr(execute, "NUDGE_SECONDS", 4)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("SMOKE = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import time\ntime.sleep(20)\nx = sum(range(10**7))\nprint(x)")]
    nbformat.write(nb, tmp_path / "slow.ipynb")
    record = execute_notebook(tmp_path / "slow.ipynb", tmp_path / "out.ipynb", stall_after=90)
    assert record.ok and not record.hung, record.error
    assert "no CPU progress" in record.nudges[0] and "ipykernel_launcher" in record.nudges[0]
    assert any("CPU use resumed" in n or "the run finished" in n for n in record.nudges), record.nudges
