"""DigitsBench-201: every NAS-Bench-201 cell trained on digits, looked up instead of trained.

Introduced in 06_nas_search; 07 and 08 look their cells up here too.

A tabular benchmark turns a search run from hours of training into milliseconds of look-ups,
so search strategies can be compared over hundreds of seeds. The table was produced by
``python -m genlab.nas.generate`` (see that module for how to regenerate or extend it): each of
the 5,216 functionally distinct cells (``space.canonical``) trained once with ``SCHEDULE`` and
seed 0 — one member of each class, named by its record's ``arch_str`` — and a random subset
trained again with seed 1 measures the noise between seeds. Notebooks only read it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..nn import count_parameters
from ..runtime import Budget
from .network import Reduction, build_network
from .space import NUM_CELLS, Cell, all_cells, canonical, ops_to_index, ops_to_str, to_ops

DATA_DIR = Path(__file__).with_name("data")
TABLE = DATA_DIR / "digitsbench201.jsonl"          # seed 0, every unique cell
NOISE_TABLE = DATA_DIR / "digitsbench201_seed1.jsonl"  # seed 1, a random subset

# The one fixed schedule every cell is trained with (recorded in the table's header, which
# ``generate`` compares before it resumes a table).
SCHEDULE = {"channels": 16, "num_epochs": 4, "batch_size": 64, "optimizer": "SGD-nesterov",
            "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "lr_schedule": "cosine per step",
            "data": "genlab.data.load_digits: train 1,167 / val 270 / test 360", "threads": 1}


@dataclass(frozen=True)
class Record:
    """What the benchmark knows about one cell."""

    arch_str: str        # the member of the cell's class that was trained
    # params and flops count the edges that reach the output (space.live_ops): the same for
    # every member of a class, whereas build_network also builds dead edges
    val_acc: float       # accuracy on the digits validation split (use this for search)
    test_acc: float      # accuracy on the test split (report this)
    params: int
    flops: int           # forward FLOPs for one 8×8 image (torch.utils.flop_counter)
    seconds: float       # training time when the table was generated


def train_cell(cell: Cell, seed: int = 0, data=None, reduction=Reduction) -> Record:
    """Train one cell with ``SCHEDULE`` and return its record (about 1 s on one CPU thread).

    This is what the generation script runs for every unique cell, and what the reproduction
    test re-runs on a sample. ``reduction`` swaps the block between the stages (only to measure
    what the skeleton does: ``network.Reduction``). The table was made on one thread per worker process
    (``runtime.use_threads(1)`` in ``generate``); the same thread count gives the same sums.
    """
    from ..data.digits import load_digits
    from torch.utils.flop_counter import FlopCounterMode

    d = data if data is not None else load_digits(flatten=False)
    s = SCHEDULE
    g = torch.manual_seed(seed)
    net = build_network(cell, channels=s["channels"], reduction=reduction)
    opt = torch.optim.SGD(net.parameters(), lr=s["lr"], momentum=s["momentum"], nesterov=True,
                          weight_decay=s["weight_decay"])
    n, bs = len(d.y_train), s["batch_size"]
    steps = s["num_epochs"] * -(-n // bs)
    # The recorded schedule ("cosine per step", down to 0), kept exactly so that the table stays
    # reproducible: not the course's train.warmup_cosine, which ends at 10 % of the peak.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    budget = Budget(None)                  # a stopwatch: the table records the seconds
    net.train()
    for _ in range(s["num_epochs"]):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(net(d.X_train[idx]), d.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = budget.elapsed
    net.eval()
    with torch.no_grad():
        val = (net(d.X_val).argmax(1) == d.y_val).float().mean().item()
        test = (net(d.X_test).argmax(1) == d.y_test).float().mean().item()
        with FlopCounterMode(display=False) as counter:
            net(d.X_val[:1])
    return Record(ops_to_str(to_ops(cell)), round(val, 4), round(test, 4),
                  count_parameters(net), int(counter.get_total_flops()),
                  round(seconds, 3))


def read_table(path: Path) -> tuple[dict, list[Record]]:
    """The header (schedule, seed, versions) and the records of one table file."""
    if not path.exists():
        raise ValueError(f"no benchmark table at {path}; generate it with python -m genlab.nas.generate")
    with open(path) as f:
        header = json.loads(f.readline())
        records = [Record(**json.loads(line)) for line in f if line.strip()]
    return header, records


@lru_cache(maxsize=None)
def _class_of_every_cell() -> tuple[np.ndarray, list[str]]:
    """For each of the 15,625 indices, the number of its class (``space.canonical``); the classes."""
    keys, cls = {}, np.empty(NUM_CELLS, dtype=np.int64)
    for i, ops in enumerate(all_cells()):
        cls[i] = keys.setdefault(canonical(ops), len(keys))
    return cls, list(keys)


class DigitsBench201:
    """The look-up API: ``bench.query(cell)`` for any encoding of any of the 15,625 cells.

    Also vectorised views over all cells by index (``val_acc``, ``test_acc``, ``params``,
    ``flops``), the best achievable accuracies (for regret), and the seed-noise table.
    """

    def __init__(self, path: Path = TABLE, noise_path: Path | None = NOISE_TABLE):
        self.header, records = read_table(path)
        cls, keys = _class_of_every_cell()
        by_key: dict[str, Record] = {}
        for r in records:
            other = by_key.setdefault(canonical(r.arch_str), r)
            if other is not r:
                raise ValueError(f"{path.name} has two records of one function ({other.arch_str} and "
                                 f"{r.arch_str}); re-key it with python -m genlab.nas.generate")
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise ValueError(f"{path.name} is incomplete: {len(missing)} of {len(keys)} unique cells "
                             "missing; resume python -m genlab.nas.generate to finish it")
        self._records = [by_key[k] for k in keys]
        self._cls = cls
        field = lambda name: np.array([getattr(r, name) for r in self._records])[cls]  # noqa: E731
        self.val_acc, self.test_acc = field("val_acc"), field("test_acc")
        self.params, self.flops = field("params"), field("flops")
        self.noise = read_table(noise_path)[1] if noise_path is not None and noise_path.exists() else []

    def __len__(self) -> int:
        return NUM_CELLS

    @property
    def num_unique(self) -> int:
        return len(self._records)

    def query(self, cell: Cell) -> Record:
        """The record of a cell given as index, arch string or op names."""
        return self._records[self._cls[ops_to_index(to_ops(cell))]]

    def unique_indices(self) -> np.ndarray:
        """One index per class: the cell its record was trained on, in index order."""
        return np.sort([ops_to_index(to_ops(r.arch_str)) for r in self._records])

    @property
    def best_val(self) -> float:
        return float(self.val_acc.max())

    @property
    def best_test(self) -> float:
        return float(self.test_acc.max())

    def rank_percentile(self, cell: Cell, split: str = "test") -> float:
        """Share of the 15,625 cells strictly worse than ``cell`` (1.0 = the best)."""
        accs = {"val": self.val_acc, "test": self.test_acc}[split]
        acc = getattr(self.query(cell), f"{split}_acc")
        return float((accs < acc).mean())

    def seed_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Validation accuracy of the noise subset under seed 0 and seed 1 (the noise ceiling)."""
        if not self.noise:
            raise ValueError("no seed-1 table found next to the benchmark")
        return (np.array([self.query(r.arch_str).val_acc for r in self.noise]),
                np.array([r.val_acc for r in self.noise]))

    def __repr__(self) -> str:
        return (f"DigitsBench201({NUM_CELLS} cells, {self.num_unique} unique, "
                f"val acc {self.val_acc.min():.3f}–{self.best_val:.3f})")


@lru_cache(maxsize=1)
def load_benchmark() -> DigitsBench201:
    """The shipped benchmark, read once per process."""
    return DigitsBench201()


__all__ = ["SCHEDULE", "Record", "train_cell", "DigitsBench201", "load_benchmark", "read_table"]
