"""Where and how a notebook runs: device, seeds, SMOKE mode, cache dir, a time budget.

Introduced in 00_orientation; every later notebook starts with these calls.
"""
from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

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
    """A wall-clock budget: ``Budget(60)`` is spent 60 s after it was created.

    The training loop stops when its budget is spent, so a notebook's run time stays
    bounded on a slow laptop; the results check then tells whether the target was reached.
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


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``, then restore the previous setting.

    Loops of thousands of tiny tensor operations (HMC and VI in 01_foundations) gain nothing
    from a second thread, and when cores are shared (CI, Binder's single CPU) idle threads
    spinning on a busy core can make each operation ten times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cached_state(name: str, build: Callable[[], torch.nn.Module]) -> dict[str, torch.Tensor]:
    """The state dict of a model the library trains once: read from ``cache_dir() / name``, or
    made by ``build()`` and saved there (02's and 04's digits judge, 05's base GPT).

    ``build`` runs on one thread (reproducible sums: the same weights on every run of a
    machine) with gradients on (the caller may be inside ``torch.no_grad()``). The file is
    written atomically, so a half-written cache is never read.
    """
    path = cache_dir() / name
    if path.exists():
        return torch.load(path, weights_only=True)
    with one_thread(), torch.enable_grad():
        state = build().state_dict()
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return state
