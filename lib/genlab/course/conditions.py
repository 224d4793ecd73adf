"""The conditions a notebook is measured under (README, "Budgets").

- ``quiet``: nothing else runs;
- ``busy``: one CPU-bound program per usable CPU beside it (a laptop with a browser, a shared
  CI runner) — ``cpu_hogs``;
- ``binder``: inside a cgroup of 1 CPU of quota and 2 GB of memory, Binder's limits —
  ``Cgroup``, which needs root and a writable cgroup file system (v2, or v1's ``cpu`` and
  ``memory`` hierarchies).

``python -m genlab.course execute --condition busy|binder`` measures under them;
``python -m genlab.course stress`` uses the hogs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CONDITIONS = ("quiet", "busy", "binder")
BINDER_CPUS, BINDER_MEMORY = 1.0, 2 * 1024 ** 3
HOG = "while True: pass"
CGROUP = Path("/sys/fs/cgroup")


@contextmanager
def cpu_hogs(n: int) -> Iterator[list[subprocess.Popen]]:
    """``n`` busy-looping Python processes, stopped on exit."""
    if n < 0:
        raise ValueError(f"the number of CPU hogs must be >= 0, got {n}")
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait()


class Cgroup:
    """A fresh cgroup with a CPU quota (in CPUs) and a memory limit (bytes); ``add(pid)`` moves
    a process into it (its children follow); ``remove()`` deletes it once empty."""

    PERIOD = 100_000   # microseconds

    def __init__(self, cpus: float = BINDER_CPUS, memory: int = BINDER_MEMORY, root: Path = CGROUP):
        if cpus <= 0 or memory <= 0:
            raise ValueError(f"need cpus > 0 and memory > 0, got {cpus}, {memory}")
        name = f"genlab-{uuid.uuid4().hex[:8]}"
        quota = int(cpus * self.PERIOD)
        try:
            if (root / "cgroup.controllers").exists():            # cgroup v2
                controllers = set((root / "cgroup.subtree_control").read_text().split())
                if not {"cpu", "memory"} <= controllers:
                    (root / "cgroup.subtree_control").write_text("+cpu +memory")
                folder = root / name
                folder.mkdir()
                (folder / "cpu.max").write_text(f"{quota} {self.PERIOD}")
                (folder / "memory.max").write_text(str(memory))
                self.folders = [folder]
            else:                                                    # cgroup v1
                cpu, mem = root / "cpu" / name, root / "memory" / name
                cpu.mkdir()
                mem.mkdir()
                self.folders = [cpu, mem]
                (cpu / "cpu.cfs_period_us").write_text(str(self.PERIOD))
                (cpu / "cpu.cfs_quota_us").write_text(str(quota))
                (mem / "memory.limit_in_bytes").write_text(str(memory))
        except OSError as err:
            raise RuntimeError(f"cannot make a cgroup under {root} ({err}): the 'binder' condition "
                               f"needs root and a writable cgroup file system") from err

    def add(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                pass


@contextmanager
def condition(name: str, cpus: int) -> Iterator[Cgroup | None]:
    """Set up a named condition around a block; yields the cgroup to run in (``binder``)."""
    if name not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {name!r}")
    if name == "busy":
        with cpu_hogs(cpus):
            yield None
    elif name == "binder":
        group = Cgroup()
        try:
            yield group
        finally:
            group.remove()
    else:
        yield None


def join_cgroup(group: Cgroup | None):
    """A ``preexec_fn`` for subprocess: the child moves itself into ``group`` before it starts."""
    if group is None:
        return None
    return lambda: group.add(os.getpid())
