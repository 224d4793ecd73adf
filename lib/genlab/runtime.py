"""Where and how a notebook runs: CPUs and threads, device, seeds, SMOKE mode, cache dir, a
time budget.

Introduced in 00_orientation; every notebook's setup cell calls ``setup(SEED)``, which applies
the one thread policy (``thread_policy``), seeds everything and picks the device.
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

try:
    import fcntl
except ImportError:   # Windows: no advisory locks; two processes may then both build a cache
    fcntl = None

_TRUE = {"1", "true", "yes", "on"}


def smoke_mode() -> bool:
    """Default for a notebook's ``SMOKE`` parameter: True when ``GENLAB_SMOKE`` is set to 1/true.

    SMOKE shrinks every experiment so a notebook runs in seconds (used by CI and by
    nbgrader's autograde); the graded exercises are the same in both modes.
    """
    return os.environ.get("GENLAB_SMOKE", "0").strip().lower() in _TRUE


def get_device(prefer: str | None = None) -> torch.device:
    """The device to train on: CUDA when present, else CPU.

    ``prefer`` ("cpu" or "cuda") overrides the choice; asking for CUDA on a machine
    without it is an error rather than a silent fallback.
    """
    if prefer is not None:
        if prefer not in ("cpu", "cuda"):
            raise ValueError(f"prefer must be 'cpu', 'cuda' or None, got {prefer!r}")
        if prefer == "cuda" and not torch.cuda.is_available():
            raise ValueError("prefer='cuda' but no CUDA device is available on this machine")
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a ``torch.Generator`` seeded the same way.

    Passing the returned generator to samplers and DataLoaders keeps a cell's randomness
    independent of how many other cells ran before it.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cache_dir() -> Path:
    """Folder for things the library builds once and reuses (trained helper models).

    ``GENLAB_CACHE_DIR`` overrides the default ``~/.cache/genlab``. Nothing in it is ever
    downloaded: deleting it only costs the time to rebuild.
    """
    root = os.environ.get("GENLAB_CACHE_DIR") or Path.home() / ".cache" / "genlab"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Budget:
    """A wall-clock budget: ``Budget(60)`` is spent 60 s after it was created; ``Budget(None)``
    never is. The library's one timer (``elapsed``).

    Trainers use it only as a guard: they run a fixed number of steps or epochs, and stop early
    (with a warning) only when a budget is spent — a machine far slower than the course assumes.
    """

    def __init__(self, seconds: float | None):
        if seconds is not None and seconds <= 0:
            raise ValueError(f"a budget must be positive seconds or None, got {seconds!r}")
        self.seconds = seconds
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def remaining(self) -> float:
        return float("inf") if self.seconds is None else max(0.0, self.seconds - self.elapsed)

    @property
    def spent(self) -> bool:
        return self.remaining <= 0.0

    def __repr__(self) -> str:
        return f"Budget(seconds={self.seconds}, elapsed={self.elapsed:.1f})"


# ---------------------------------------------------------------- CPUs and threads

def cpu_quota(root: Path | str = "/") -> float | None:
    """How many CPUs' worth of time the process's cgroup may use, or None when unlimited.

    Reads cgroup v2 (``cpu.max``: ``"max 100000"`` or ``"quota period"``) and cgroup v1
    (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``, -1 = unlimited) for the process's own cgroup
    and every ancestor up to the mount point, and returns the smallest limit: Binder and
    Kubernetes give a learner "1 CPU" this way while ``os.cpu_count()`` still reports every core
    of the host. ``root`` lets tests point it at a fake ``/proc`` and ``/sys`` tree.
    """
    root = Path(root)
    try:
        groups = (root / "proc/self/cgroup").read_text().splitlines()
        mounts = (root / "proc/self/mountinfo").read_text().splitlines()
    except OSError:  # not Linux, or /proc hidden: no quota we can see
        return None
    limits = []
    for line in groups:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "":       # cgroup v2 (unified)
            for folder in _cgroup_folders(root, mounts, "cgroup2", None, path):
                limits.append(_v2_limit(folder / "cpu.max"))
        elif "cpu" in controllers.split(","):            # cgroup v1, the cpu controller
            for folder in _cgroup_folders(root, mounts, "cgroup", "cpu", path):
                limits.append(_v1_limit(folder))
    limits = [x for x in limits if x is not None]
    return min(limits) if limits else None


def _cgroup_folders(root: Path, mountinfo: list[str], fstype: str, controller: str | None,
                    path: str) -> list[Path]:
    """The process's cgroup folder and its ancestors, in every mount of that hierarchy."""
    folders = []
    for line in mountinfo:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount_root, mount_point = fields[3], fields[4]
        after = line.split(" - ", 1)[1].split()
        if not after or after[0] != fstype:
            continue
        if controller and controller not in (after[2].split(",") if len(after) > 2 else []):
            continue
        top = root / mount_point.lstrip("/")
        inside = path[len(mount_root):] if path.startswith(mount_root) else path
        folder = top / inside.lstrip("/")
        if not folder.is_dir():      # a cgroup namespace hides the host's path: use the mount
            folder = top
        while True:
            folders.append(folder)
            if folder == top or top not in folder.parents:
                break
            folder = folder.parent
    return folders


def _v2_limit(cpu_max: Path) -> float | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _v1_limit(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def usable_cpus() -> int:
    """The CPUs this process may really use: those it may run on (affinity), capped by the
    cgroup quota (rounded down, at least 1). On Binder: 1, whatever the host has."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


MAX_THREADS = 4   # the course's models are small; a shared workshop server must not be swamped


def thread_policy(cpus: int | None = None) -> int:
    """genlab's one thread policy: how many threads torch may use on ``cpus`` usable CPUs.

    One CPU is left for everything else — the Jupyter server, the browser, a grader's next
    kernel — and at most ``MAX_THREADS`` are used. Why leave one: torch splits each operation
    across its threads and waits for the slowest; when another busy program shares a core, that
    wait stalls every step. Measured on 2 cores (03_gpt, 800 training steps): quiet, 2 threads
    took 53 s and 1 thread 77 s; with a CPU-bound program beside it on each core, 1 thread took
    81 s, while 2 threads managed 269 steps in 300 s (about 13 times slower per step). So a
    2-core laptop and Binder's 1 CPU train on one thread. ``GENLAB_THREADS`` overrides the
    policy (e.g. for measurements).
    """
    override = os.environ.get("GENLAB_THREADS", "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"GENLAB_THREADS must be a positive integer, got {override!r}")
        return int(override)
    cpus = usable_cpus() if cpus is None else cpus
    if not isinstance(cpus, int) or cpus < 1:
        raise ValueError(f"cpus must be a positive int, got {cpus!r}")
    return max(1, min(cpus - 1, MAX_THREADS))


def use_threads(n: int | None = None) -> int:
    """Set torch's thread count to ``n`` (default: ``thread_policy()``) and return it.

    The one place genlab sets threads. Notebooks call it through ``setup``; worker processes
    that run side by side (the benchmark generator, the test suite) pass ``n=1``: one thread
    per worker, one worker per CPU. When FAISS is already imported (11_clip_applications), its
    OpenMP pool gets the same count, so its timings compare with torch's.
    """
    n = thread_policy() if n is None else n
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the thread count must be a positive int, got {n!r}")
    torch.set_num_threads(n)
    if "faiss" in sys.modules:   # never imported here: genlab needs FAISS only where a notebook does
        sys.modules["faiss"].omp_set_num_threads(n)
    return n


def setup(seed: int, device: str | None = None, *, verbose: bool = True) -> tuple[torch.device, torch.Generator]:
    """A notebook's setup cell in one call: the thread policy, the seeds, the device.

    Returns ``(device, generator)`` (see ``get_device`` and ``seed_everything``) and prints one
    line saying what was chosen, so an executed notebook records the conditions it ran under.
    """
    threads = use_threads()
    generator = seed_everything(seed)
    chosen = get_device(device)
    if verbose:
        quota = cpu_quota()
        print(f"device: {chosen}   torch threads: {threads} (usable CPUs: {usable_cpus()}; "
              f"cgroup quota: {'none' if quota is None else f'{quota:g} CPUs'})   seed: {seed}")
    return chosen, generator


def cached_state(name: str, build: Callable[[], torch.nn.Module]) -> dict[str, torch.Tensor]:
    """The state dict of a model the library trains once: read from ``cache_dir() / name``, or
    made by ``build()`` and saved there (02's and 04's digits judge, 05's base GPT).

    ``build`` runs under the thread policy (so the same weights on every run of a machine)
    with gradients on (the caller may be inside ``torch.no_grad()``). Processes that need the
    same file at once (a grader running many submissions, the test suite's workers) take turns
    on a lock file: one builds, the others wait and read. The file is written atomically, so a
    half-written cache is never read.
    """
    path = cache_dir() / name
    if path.exists():
        return torch.load(path, weights_only=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():                     # another process built it while we waited
            return torch.load(path, weights_only=True)
        with torch.enable_grad():
            state = build().state_dict()
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save(state, tmp)
        tmp.replace(path)
    return state

