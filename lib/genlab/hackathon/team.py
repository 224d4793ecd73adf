"""What a hackathon team's kernel may use: the training digits, a CPU budget, a validation-only oracle.

13_hackathon's locked set-up cell calls ``team_data()`` and ``ValOracle.load()`` and then
installs ``guard``; its hidden test cells call ``run_search`` and the two ``export_*`` functions,
which write the artifacts the scorer (``genlab.hackathon.score``) reads after the kernel is gone.
Nothing here knows a test accuracy or a test image.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

NUM_QUERIES = 50                        # oracle look-ups per search run (track b)
TRACK_POINTS = 100                      # points of each track's hidden export cell (the scorer's scale)
BUDGET_ENV = "GENLAB_HACKATHON_BUDGET"  # the grader sets the generator's CPU budget here
FULL_BUDGET, SMOKE_BUDGET = 30.0, 3.0   # CPU seconds: a workshop's budget (the full-mode notebook trains twice), SMOKE's
SAMPLES_FILE, SEARCH_FILE = "generator_samples.npz", "search_picks.json"
EXPORT_ENV = "GENLAB_HACKATHON_EXPORT"  # the grader's folder for this team's artifacts (the guard allows it)


class CPUBudget:
    """``spent`` once this process has used ``seconds`` of CPU time (all threads) since creation.

    CPU time, not wall time: a busy machine does not shrink a team's budget, and two threads do
    not double it."""

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError(f"a CPU budget must be positive seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self.start = time.process_time()

    @property
    def used(self) -> float:
        return time.process_time() - self.start

    @property
    def spent(self) -> bool:
        return self.used >= self.seconds

    def __repr__(self) -> str:
        return f"CPUBudget(seconds={self.seconds:g}, used={self.used:.1f})"


def budget_seconds(smoke: bool) -> float:
    """The generator's CPU budget: ``GENLAB_HACKATHON_BUDGET`` if the grader set it, else the default."""
    raw = os.environ.get(BUDGET_ENV)
    if raw is None:
        return SMOKE_BUDGET if smoke else FULL_BUDGET
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{BUDGET_ENV} must be CPU seconds, got {raw!r}") from None


def team_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The digits' training split (images (N, 64) in [0, 1], labels); the val and test splits are dropped."""
    from genlab.data import load_digits

    digits = load_digits()
    return digits.X_train.clone(), digits.y_train.clone()


class QueryLimit(RuntimeError):
    """A search asked the oracle more than its ``limit`` queries."""


class ValOracle:
    """Validation accuracy of any DigitsBench-201 cell, at most ``limit`` look-ups per ``reset``."""

    def __init__(self, val_acc: np.ndarray, limit: int = NUM_QUERIES):
        self._val = np.array(val_acc, dtype=np.float64, copy=True)
        self._val.setflags(write=False)
        self.limit, self.used = int(limit), 0

    @classmethod
    def load(cls, limit: int = NUM_QUERIES) -> "ValOracle":
        """Read the table's validation column, then drop the benchmark (and its test column) from memory."""
        from genlab.nas import benchmark

        oracle = cls(benchmark.load_benchmark().val_acc, limit)
        benchmark.load_benchmark.cache_clear()
        return oracle

    def reset(self, limit: int | None = None) -> None:
        self.used = 0
        if limit is not None:
            self.limit = int(limit)

    def __call__(self, cell) -> float:
        from genlab.nas.space import ops_to_index, to_ops

        if self.used >= self.limit:
            raise QueryLimit(f"the oracle answers {self.limit} queries per search; this was query {self.used + 1}")
        self.used += 1
        return float(self._val[ops_to_index(to_ops(cell))])


def run_search(make_strategy: Callable[[int], object], oracle: ValOracle, seed: int,
               num_queries: int = NUM_QUERIES) -> int:
    """One search: ``num_queries`` rounds of propose → oracle → tell; returns the index of ``best``'s cell."""
    from genlab.nas.space import ops_to_index, to_ops

    oracle.reset(num_queries)
    strategy = make_strategy(seed)
    for _ in range(num_queries):
        cell = strategy.propose()
        strategy.tell(cell, oracle(cell))
    return ops_to_index(to_ops(strategy.best[0]))


def check_samples(images, labels) -> tuple[np.ndarray, np.ndarray]:
    """Samples as float32 (N, 64) in [0, 1] with int64 labels (N,), or a ValueError saying what is wrong."""
    x = np.asarray(torch.as_tensor(images).detach().cpu(), dtype=np.float32).reshape(len(images), -1)
    y = np.asarray(torch.as_tensor(labels).cpu(), dtype=np.int64)
    if x.shape[1] != 64 or y.shape != (len(x),):
        raise ValueError(f"need images (N, 64) and labels (N,), got {x.shape} and {y.shape}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"pixels must be finite and in [0, 1], got {np.nanmin(x):.3g}..{np.nanmax(x):.3g}")
    return x, y


def export_folder() -> Path:
    """Where the hidden tests write a team's artifacts: ``GENLAB_HACKATHON_EXPORT`` (the grader sets it
    per team), else a temporary folder (an instructor's or a learner's own run: nobody reads them)."""
    folder = os.environ.get(EXPORT_ENV)
    if not folder:
        folder = os.environ[EXPORT_ENV] = tempfile.mkdtemp(prefix="genlab-hackathon-")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def export_samples(images, labels) -> Path:
    """Write the generator's samples for the scorer (``SAMPLES_FILE`` in ``export_folder()``)."""
    x, y = check_samples(images, labels)
    path = export_folder() / SAMPLES_FILE
    np.savez_compressed(path, images=x, labels=y)
    return path


def export_search(picks: dict[int, int]) -> Path:
    """Write the picked cell of each hidden search seed for the scorer (``SEARCH_FILE``)."""
    path = export_folder() / SEARCH_FILE
    path.write_text(json.dumps({str(seed): int(index) for seed, index in picks.items()}))
    return path
