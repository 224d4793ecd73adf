"""The training vocabulary every notebook uses. Introduced in 00_orientation.

``fit`` knows nothing about the model: the notebook passes a ``loss_fn(model, batch)``
that returns a scalar loss (``train_step`` turns it into one optimiser step; 00's learners write
their own and ``fit(step=...)`` runs it), and optionally an ``eval_fn(model)`` that returns a dict of
metrics. It runs a fixed number of epochs (so results do not depend on the machine's speed),
sets the learning rate of every step from an ``lr_schedule`` (``warmup_cosine`` is the course's
one schedule), calls an optional ``on_step`` hook, shows a tqdm progress bar, and returns a
``History``. A wall-clock ``time_budget`` only guards the run: when it cuts training short,
``fit`` says so.

The step-based trainers (``gpt_train.train_gpt``, ``diffusion.train_denoiser``) use the
same names: ``max_steps``, ``lr``, ``warmup``, ``time_budget``, ``seed``, ``History``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from .runtime import Budget

LossFn = Callable[[torch.nn.Module, tuple], torch.Tensor]
EvalFn = Callable[[torch.nn.Module], dict]
Schedule = Callable[[float], float]   # progress in [0, 1] -> multiplier of the peak lr


def warmup_cosine(progress: float, warmup: float = 0.0, min_ratio: float = 0.1) -> float:
    """The course's learning-rate schedule, as a multiplier of the peak lr at ``progress`` ∈ [0, 1].

    Linear from 0 to 1 over the first ``warmup`` fraction of training (Adam's early steps are
    noisy: Goyal et al. 2017), then a half cosine down to ``min_ratio`` at progress 1
    (Loshchilov & Hutter 2017, SGDR, without restarts). ``warmup=0`` starts at the peak.
    """
    if not 0 <= warmup < 1 or not 0 <= min_ratio <= 1:
        raise ValueError(f"need 0 <= warmup < 1 and 0 <= min_ratio <= 1, got {warmup}, {min_ratio}")
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return progress / warmup
    t = (progress - warmup) / (1 - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group (what a schedule does before each step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def guard_message(what: str, done: int, planned: int, seconds: float) -> str:
    """What a trainer says when its wall-clock guard cut it short (then it warns with it)."""
    return (f"{what} stopped by its {seconds:.0f} s time guard after {done} of {planned}: this machine "
            f"is slower or busier than the course assumes, so the results may miss their targets")


@dataclass
class History:
    """Per-epoch records: ``history["val_loss"]`` is the list of that metric, epoch by epoch."""

    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    stopped_by_budget: bool = False

    def __getitem__(self, key: str) -> list[float]:
        if not self.records or key not in self.records[-1]:
            known = sorted(self.records[-1]) if self.records else []
            raise KeyError(f"no metric {key!r} in this history; it has {known}")
        return [r[key] for r in self.records if key in r]

    def __len__(self) -> int:
        return len(self.records)

    def last(self, key: str) -> float:
        return self[key][-1]

    def as_dict(self) -> dict[str, list[float]]:
        keys = dict.fromkeys(k for r in self.records for k in r)
        return {k: self[k] for k in keys}


def train_step(model: torch.nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
               batch: tuple) -> float:
    """One optimiser step on ``batch``; returns the batch's loss before the step, as a float.

    The heart of every training loop (00_orientation's build exercise): training mode on, the
    loss, gradients cleared (``backward`` *adds* into ``.grad``), backward, step. Raises
    ``FloatingPointError`` on a non-finite loss, before it can reach the weights.
    """
    model.train()
    loss = loss_fn(model, batch)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()}; try a smaller lr or check the loss function")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def as_loader(data: Dataset | DataLoader | tuple | list, batch_size: int, shuffle: bool,
              generator: torch.Generator | None = None) -> DataLoader:
    """Accept a DataLoader, a Dataset, or a tuple of tensors such as ``(X, y)``."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        if not data or not all(isinstance(t, torch.Tensor) for t in data):
            raise ValueError("a tuple of training data must hold tensors, e.g. (X, y)")
        data = TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise ValueError(f"training data must be a Dataset, DataLoader or tuple of tensors, "
                         f"got {type(data).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


def fit(model: torch.nn.Module, loss_fn: LossFn, train_data: Dataset | DataLoader | tuple, *,
        num_epochs: int, lr: float = 1e-3, batch_size: int = 64,
        optimizer: torch.optim.Optimizer | None = None, lr_schedule: Schedule | None = None,
        on_step: Callable[[int, int], None] | None = None, eval_fn: EvalFn | None = None,
        time_budget: float | None = None, seed: int = 0, progress: bool = True,
        live_plot: Sequence[str] | None = None, device: torch.device | str | None = None,
        step: Callable[[torch.nn.Module, LossFn, torch.optim.Optimizer, tuple], float] = train_step) -> History:
    """Train ``model`` for ``num_epochs`` and return its history.

    Each record holds ``epoch``, ``train_loss`` (mean over the epoch's batches), ``time``
    (seconds since the start) and whatever ``eval_fn`` returns. Batches are moved to
    ``device`` (default: the model's device). The optimizer defaults to AdamW(lr).

    Before optimiser step ``i`` (0-based, of ``total`` = epochs × batches per epoch): the
    learning rate becomes ``lr * lr_schedule(i / total)`` when a schedule is given
    (e.g. ``warmup_cosine``), and ``on_step(i, total)`` is called — the place for anything
    else that changes with the step, such as a KL weight (08). ``time_budget`` (seconds) only
    guards the run: if it is spent, training stops after the current batch with a warning and
    ``history.stopped_by_budget``. ``live_plot=["train_loss", "val_acc"]`` redraws those curves
    after every epoch in a notebook. ``step`` takes one optimiser step and returns the batch's
    loss (``train_step``, or the learner's own from 00).
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise ValueError("lr_schedule must be a function of progress in [0, 1], e.g. train.warmup_cosine")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all requires_grad=False?)")
    device = torch.device(device) if device is not None else params[0].device
    loader = as_loader(train_data, batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    optimizer = optimizer or torch.optim.AdamW(params, lr=lr)
    budget = Budget(time_budget)
    history = History()
    plot = _LivePlot(live_plot) if live_plot else None
    bar = tqdm(range(1, num_epochs + 1), desc="training", unit="epoch", disable=not progress)
    n_steps, total_steps = 0, num_epochs * len(loader)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in loader:
            batch = tuple(t.to(device) for t in batch) if isinstance(batch, (tuple, list)) else batch.to(device)
            if lr_schedule is not None:
                set_lr(optimizer, lr * lr_schedule(n_steps / total_steps))
            if on_step is not None:
                on_step(n_steps, total_steps)
            loss = step(model, loss_fn, optimizer, batch)
            if not math.isfinite(loss):   # a learner's step may not check
                raise FloatingPointError(f"loss became {loss} at epoch {epoch}; "
                                         "try a smaller lr or check the loss function")
            n_steps, total, count = n_steps + 1, total + loss, count + 1
            if budget.spent:
                break
        record = {"epoch": epoch, "train_loss": total / max(count, 1)}
        if eval_fn is not None:
            model.eval()
            with torch.no_grad():
                record.update({k: float(v) for k, v in eval_fn(model).items()})
        record["time"] = budget.elapsed
        history.records.append(record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "time")})
        if plot:
            plot.update(history)
        if budget.spent and (epoch < num_epochs or count < len(loader)):
            history.stopped_by_budget = True
            warnings.warn(guard_message("training", epoch, num_epochs, time_budget) + " (epochs)",
                          RuntimeWarning, stacklevel=2)
            break
    bar.close()
    if plot:
        plot.close()
    history.seconds = budget.elapsed
    model.eval()
    return history


class _LivePlot:
    """One figure, redrawn in place after each epoch (IPython display handle)."""

    def __init__(self, keys: Sequence[str]):
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.keys, self.plt = list(keys), plt
        self.fig, self.ax = plt.subplots(figsize=(5, 3.2))
        self.handle = display(self.fig, display_id=True)  # None outside a notebook

    def update(self, history: History) -> None:
        from .viz import plot_history

        self.ax.clear()
        plot_history(history, self.keys, ax=self.ax)
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self) -> None:
        self.plt.close(self.fig)  # the last frame stays in the output; don't draw it twice


def accuracy(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Fraction of rows of ``X`` whose arg-max logit equals the label ``y``."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    model.eval()
    with torch.no_grad():
        preds = torch.cat([model(X[i:i + batch_size]).argmax(-1) for i in range(0, len(X), batch_size)])
    return (preds == y).float().mean().item()
