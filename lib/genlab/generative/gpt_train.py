"""Training and scoring the GPT of ``gpt.py``, as nanoGPT keeps train.py apart from model.py.

Introduced in 03_gpt: the unigram and bigram baselines (count-based, nats per character),
``evaluate`` (mean validation cross-entropy) and ``train_gpt`` (a fixed number of steps of
AdamW with the course's warmup + cosine schedule, ``genlab.train.warmup_cosine``); the
learner writes the schedule per step (``lr_at``) and the step (``train_step``), and
``train_model`` trains a given model (built from the learner's blocks) with them.
Introduced in 05_lora: ``finetune_gpt`` (continue training whatever parameters require
gradients: all of them, or LoRA's adapters) and ``load_base_gpt`` (03's model, trained once
by the library's recipe ``build_base_gpt`` and shipped with genlab).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from ..data.text import Text, load_text, sample_batch
from ..runtime import Budget
from ..train import History, guard_message, set_lr, warmup_cosine
from .gpt import GPT, GPTConfig


# ---------------------------------------------------------------- baselines

def _check_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    if not isinstance(ids, torch.Tensor) or ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"{name} must be a 1-D tensor of at least two token ids")
    if int(ids.min()) < 0 or int(ids.max()) >= vocab_size:
        raise ValueError(f"{name} holds ids outside [0, {vocab_size})")


def unigram_log_probs(train_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> torch.Tensor:
    """log p(c): character frequencies in the training text, add-``alpha`` smoothed. (V,)"""
    _check_ids(train_ids, vocab_size, "train_ids")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0 (it keeps unseen characters possible), got {alpha}")
    counts = torch.bincount(train_ids, minlength=vocab_size).double() + alpha
    return (counts / counts.sum()).log()


def bigram_log_probs(train_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> torch.Tensor:
    """log p(next | current): (V, V) row-normalised pair counts of the training text, add-``alpha``."""
    _check_ids(train_ids, vocab_size, "train_ids")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0 (it keeps unseen pairs possible), got {alpha}")
    pairs = train_ids[:-1] * vocab_size + train_ids[1:]
    counts = torch.bincount(pairs, minlength=vocab_size * vocab_size).double().view(vocab_size, vocab_size)
    counts += alpha
    return (counts / counts.sum(dim=1, keepdim=True)).log()


def unigram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> float:
    """Cross-entropy (nats/char) on ``val_ids[1:]`` of a model that ignores all context."""
    _check_ids(val_ids, vocab_size, "val_ids")
    return float(-unigram_log_probs(train_ids, vocab_size, alpha)[val_ids[1:]].mean())


def bigram_loss(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int, alpha: float = 1.0) -> float:
    """Cross-entropy (nats/char) on ``val_ids[1:]`` of a model that sees one previous character."""
    _check_ids(val_ids, vocab_size, "val_ids")
    logp = bigram_log_probs(train_ids, vocab_size, alpha)
    return float(-logp[val_ids[:-1], val_ids[1:]].mean())


# ---------------------------------------------------------------- scoring

@torch.no_grad()
def evaluate(model: GPT, ids: torch.Tensor, batch_size: int = 64, max_blocks: int | None = None) -> float:
    """Mean cross-entropy (nats/char) over consecutive, non-overlapping blocks of ``ids``: all of
    them, or ``max_blocks`` evenly spaced ones (a cheap estimate that covers the whole text: the
    topics differ in difficulty). Deterministic: no sampling."""
    T = model.config.block_size
    n = (len(ids) - 1) // T
    if n < 1:
        raise ValueError(f"need more than block_size = {T} tokens to evaluate, got {len(ids)}")
    x = ids[: n * T].view(n, T)
    y = ids[1: n * T + 1].view(n, T)
    if max_blocks is not None and max_blocks < n:
        keep = torch.linspace(0, n - 1, max_blocks).round().long()
        x, y, n = x[keep], y[keep], len(keep)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for i in range(0, n, batch_size):
        _, loss = model(x[i:i + batch_size].to(device), y[i:i + batch_size].to(device))
        total += float(loss) * len(x[i:i + batch_size])
    model.train(was_training)
    return total / n


# ---------------------------------------------------------------- training (03_gpt)

def _train_step(model: GPT, opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], ids: torch.Tensor,
                batch_size: int, gen: torch.Generator, device: torch.device) -> float:
    """One AdamW step on ``batch_size`` random windows of ``ids``, gradients clipped at norm 1."""
    x, y = sample_batch(ids, batch_size, model.config.block_size, gen)
    _, loss = model(x.to(device), y.to(device))
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()}; try a smaller lr")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return loss.item()


def train_gpt(config: GPTConfig, data: Text, *, max_steps: int, batch_size: int = 32, lr: float = 5e-3,
              warmup: float = 0.05, min_ratio: float = 0.1, weight_decay: float = 0.1, eval_every: int = 100,
              eval_blocks: int = 64, time_budget: float | None = None, seed: int = 0, progress: bool = True,
              live_plot: bool = False, baselines: dict[str, float] | None = None,
              device: torch.device | str | None = None) -> tuple[GPT, History]:
    """Train a fresh ``GPT(config)`` on ``data.train_ids`` for ``max_steps`` steps; return it and its history.

    Before step ``s`` (0-based) the learning rate is ``lr * warmup_cosine(s / max_steps, warmup,
    min_ratio)``: a linear warmup over the first ``warmup`` fraction of the steps, then a half
    cosine down to ``min_ratio * lr``. AdamW decays the matrices and embeddings by
    ``weight_decay``, not the biases and LayerNorm gains; gradients are clipped at norm 1. The
    same ``seed`` gives the same model and batches, so the result depends on the steps, never on
    the machine's speed.

    Every ``eval_every`` steps the history gets a record with ``step``, ``time`` (seconds since
    the start), ``train_loss`` (mean since the last record) and ``val_loss`` (on ``eval_blocks``
    evenly spaced validation blocks; the final record uses all of them). ``live_plot=True``
    redraws the curves at every record, with ``baselines`` as dotted lines.

    ``time_budget`` (seconds) only guards the run: if it is spent, training stops early with a
    ``RuntimeWarning`` and ``history.stopped_by_budget``. Why not ``genlab.train.fit``: fit counts
    epochs over a DataLoader; a language model samples random windows and counts steps.
    """
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    if lr <= 0 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"need lr > 0, batch_size >= 1, eval_every >= 1; got {lr}, {batch_size}, {eval_every}")
    if config.vocab_size != data.vocab_size:
        raise ValueError(f"config.vocab_size is {config.vocab_size} but the data's tokenizer has {data.vocab_size}")
    torch.manual_seed(seed)
    device = torch.device(device) if device is not None else torch.device("cpu")
    model = GPT(config).to(device)
    history = train_model(model, data, max_steps=max_steps, batch_size=batch_size, lr=lr, warmup=warmup,
                          min_ratio=min_ratio, weight_decay=weight_decay, eval_every=eval_every,
                          eval_blocks=eval_blocks, time_budget=time_budget, seed=seed, progress=progress,
                          live_plot=live_plot, baselines=baselines)
    return model, history


# ---------------------------------------------------------------- the pieces 03's learner writes

def lr_at(step: int, max_steps: int, peak_lr: float, warmup: float = 0.05, min_ratio: float = 0.1) -> float:
    """The learning rate before step ``step`` (0-based) of ``max_steps``: a linear warmup from 0 to
    ``peak_lr`` over the first ``warmup`` fraction of the steps, then a half cosine down to
    ``min_ratio * peak_lr`` at ``step = max_steps`` — ``peak_lr * warmup_cosine(step / max_steps,
    warmup, min_ratio)``, ``train_gpt``'s schedule written per step (03's exercise)."""
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    if not 0 <= step <= max_steps:
        raise ValueError(f"step must lie in [0, max_steps = {max_steps}], got {step}")
    return peak_lr * warmup_cosine(step / max_steps, warmup, min_ratio)


def train_step(model: GPT, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, lr: float,
               clip: float = 1.0) -> float:
    """One training step (03's exercise): set ``lr`` in every parameter group, the mean
    cross-entropy of ``model(x, y)``, clear the old gradients, backpropagate, clip the gradients'
    total norm at ``clip``, take the optimizer's step. Returns the loss as a float.

    ``train_gpt`` trains with this step (through ``train_model``)."""
    set_lr(optimizer, lr)
    _, loss = model(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def train_model(model: GPT, data: Text, *, max_steps: int, batch_size: int = 32, lr: float = 5e-3,
                warmup: float = 0.05, min_ratio: float = 0.1, weight_decay: float = 0.1, eval_every: int = 100,
                eval_blocks: int = 64, time_budget: float | None = None, seed: int = 0, progress: bool = True,
                live_plot: bool = False, baselines: dict[str, float] | None = None,
                schedule: Callable[..., float] = lr_at, step_fn: Callable[..., float] = train_step) -> History:
    """Train ``model`` (a GPT, possibly built from a learner's blocks) in place, as ``train_gpt``
    trains a fresh one, with the learning-rate ``schedule`` and the ``step_fn`` given: before step
    ``s`` (0-based) the rate is ``schedule(s, max_steps, lr, warmup, min_ratio)``, and
    ``step_fn(model, optimizer, x, y, rate)`` trains on ``batch_size`` random windows.

    03_gpt passes the learner's ``lr_at`` and ``train_step``; ``train_gpt`` is this loop with the
    library's (the defaults) on a model made by ``torch.manual_seed(seed); GPT(config)``. Returns
    the history.
    """
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    if lr <= 0 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"need lr > 0, batch_size >= 1, eval_every >= 1; got {lr}, {batch_size}, {eval_every}")
    if model.config.vocab_size != data.vocab_size:
        raise ValueError(f"the model's vocab_size is {model.config.vocab_size} but the data's tokenizer has "
                         f"{data.vocab_size}")
    device = next(model.parameters()).device
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
                             {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(seed)
    budget, history = Budget(time_budget), History()
    plot = _StepPlot(baselines) if live_plot else None
    total, count = 0.0, 0
    model.train()
    for step in tqdm(range(1, max_steps + 1), desc="training", unit="step", disable=not progress):
        x, y = sample_batch(data.train_ids, batch_size, model.config.block_size, gen)
        loss = float(step_fn(model, opt, x.to(device), y.to(device),
                             schedule(step - 1, max_steps, lr, warmup, min_ratio)))
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at step {step}; try a smaller lr")
        total, count = total + loss, count + 1
        last = step == max_steps or budget.spent
        if last or step % eval_every == 0:
            history.records.append({"step": step, "time": budget.elapsed, "train_loss": total / count,
                                    "val_loss": evaluate(model, data.val_ids, max_blocks=None if last else eval_blocks)})
            total, count = 0.0, 0
            if plot:
                plot.update(history)
        if last:
            break
    if plot:
        plot.close()
    history.seconds = budget.elapsed
    if step < max_steps:
        history.stopped_by_budget = True
        warnings.warn(guard_message("GPT training", step, max_steps, time_budget) + " (steps)",
                      RuntimeWarning, stacklevel=2)
    model.eval()
    return history


class _StepPlot:
    """Train and validation loss against the step, redrawn in place (IPython display handle),
    with dotted horizontal lines for the baselines (e.g. ``{"bigram": 2.33}``)."""

    def __init__(self, baselines: dict[str, float] | None):
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.plt, self.baselines = plt, dict(baselines or {})
        self.fig, self.ax = plt.subplots(figsize=(6, 3.4))
        self.handle = display(self.fig, display_id=True)  # None outside a notebook

    def update(self, history: History) -> None:
        ax = self.ax
        ax.clear()
        steps = history["step"]
        ax.plot(steps, history["train_loss"], ".-", label="train (mean since last point)")
        ax.plot(steps, history["val_loss"], ".-", label="validation")
        for i, (name, value) in enumerate(self.baselines.items()):
            ax.axhline(value, ls=":", color=f"C{i + 2}", label=f"{name} baseline {value:.2f}")
        ax.set(xlabel="step", ylabel="cross-entropy (nats/char)",
               title=f"step {steps[-1]}, {history.records[-1]['time']:.0f} s: val {history['val_loss'][-1]:.3f}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        if self.handle is not None:
            self.handle.update(self.fig)

    def close(self) -> None:
        self.plt.close(self.fig)  # the last frame stays in the output; don't draw it twice


# ---------------------------------------------------------------- fine-tuning (05_lora)

def finetune_gpt(model: GPT, train_ids: torch.Tensor, val_ids: torch.Tensor, *, max_steps: int,
                 batch_size: int = 32, lr: float = 1e-3, warmup: float = 0.1, min_ratio: float = 0.1,
                 eval_every: int = 50, eval_blocks: int = 48, seed: int = 0, progress: bool = True) -> History:
    """Continue training ``model`` in place on ``train_ids`` for ``max_steps`` steps (05_lora).

    Only the parameters with ``requires_grad=True`` are updated (all of them for full
    fine-tuning, the adapters' A and B after ``lora.add_lora``), with AdamW, no weight decay
    and ``lr * warmup_cosine(s / max_steps, warmup, min_ratio)`` before step ``s``. The same
    ``seed`` draws the same batches, so runs with different trainable parameters are compared
    on the same data. The history's records hold ``step``, ``time``, ``train_loss`` and
    ``val_loss`` (``eval_blocks`` evenly spaced blocks).
    """
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    if batch_size < 1 or eval_every < 1 or lr <= 0:
        raise ValueError(f"need batch_size >= 1, eval_every >= 1 and lr > 0; got {batch_size}, {eval_every}, {lr}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all requires_grad=False?)")
    device = params[0].device
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    budget, history = Budget(None), History()
    total, count = 0.0, 0
    model.train()
    for step in tqdm(range(1, max_steps + 1), desc="fine-tuning", unit="step", disable=not progress):
        set_lr(opt, lr * warmup_cosine((step - 1) / max_steps, warmup, min_ratio))
        total, count = total + _train_step(model, opt, params, train_ids, batch_size, gen, device), count + 1
        if step % eval_every == 0 or step == max_steps:
            history.records.append({"step": step, "time": budget.elapsed, "train_loss": total / count,
                                    "val_loss": evaluate(model, val_ids, max_blocks=eval_blocks)})
            total, count = 0.0, 0
    model.eval()
    history.seconds = budget.elapsed
    return history


def finetune_batches(ids: torch.Tensor, max_steps: int, *, batch_size: int = 32, block_size: int = 64,
                     seed: int = 0, device: torch.device | str = "cpu") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The ``max_steps`` batches ``(x, y)`` that ``finetune_gpt`` draws with this ``seed``, on
    ``device`` (05_lora: the learner's adapter loop sees exactly full fine-tuning's data)."""
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    gen = torch.Generator().manual_seed(seed)
    return [tuple(t.to(device) for t in sample_batch(ids, batch_size, block_size, gen)) for _ in range(max_steps)]


def finetune_lrs(max_steps: int, lr: float, *, warmup: float = 0.1, min_ratio: float = 0.1) -> list[float]:
    """The learning rate of each of ``finetune_gpt``'s ``max_steps`` steps (warmup + cosine)."""
    if not isinstance(max_steps, int) or max_steps < 1 or lr <= 0:
        raise ValueError(f"need max_steps >= 1 and lr > 0, got {max_steps!r} and {lr}")
    return [lr * warmup_cosine(s / max_steps, warmup, min_ratio) for s in range(max_steps)]


# ---------------------------------------------------------------- the base model for 05_lora

BASE_VERSION = 2   # 2: trained by train_gpt with warmup_cosine, on one thread
BASE_CONFIG = dict(block_size=64, n_layer=2, n_head=4, n_embd=128, dropout=0.0)
BASE_TRAINING = dict(max_steps=1200, batch_size=32, lr=5e-3, warmup=0.05, seed=0)
BASE_WEIGHTS = Path(__file__).parent / "data" / f"pydoc-gpt-v{BASE_VERSION}.pt"


def build_base_gpt() -> GPT:
    """The recipe of 05_lora's base model: 03's GPT (``BASE_CONFIG``) trained by ``train_gpt`` on
    the pydoc training text with ``BASE_TRAINING`` — about 100 s on one thread of a 2-core CPU.

    ``python -m genlab.generative.gpt_train`` runs it on one thread and writes ``BASE_WEIGHTS``,
    the file that ships with genlab; ``tests/test_gpt_train.py`` runs it again and checks the
    shipped weights are what it makes."""
    data = load_text()
    config = GPTConfig(vocab_size=data.vocab_size, **BASE_CONFIG)
    model, _ = train_gpt(config, data, eval_every=BASE_TRAINING["max_steps"], progress=False, **BASE_TRAINING)
    return model


def load_base_gpt() -> GPT:
    """05_lora's base model, read from ``BASE_WEIGHTS`` (1.6 MB, shipped with genlab, made by
    ``build_base_gpt``): the same weights on every machine, in a fraction of a second.

    Its tokenizer is ``genlab.data.load_text().tokenizer``. Learner code never trains it.
    """
    config = GPTConfig(vocab_size=load_text().vocab_size, **BASE_CONFIG)
    model = GPT(config)
    model.load_state_dict(torch.load(BASE_WEIGHTS, weights_only=True))
    return model.eval()


__all__ = ["unigram_log_probs", "bigram_log_probs", "unigram_loss", "bigram_loss", "evaluate", "train_gpt",
           "lr_at", "train_step", "train_model", "finetune_gpt", "finetune_batches", "finetune_lrs",
           "build_base_gpt", "load_base_gpt", "BASE_CONFIG", "BASE_TRAINING", "BASE_VERSION",
           "BASE_WEIGHTS"]


if __name__ == "__main__":   # regenerate the shipped base model (after changing its recipe)
    from ..runtime import use_threads

    use_threads(1)   # one thread: the same sums, so the same weights, on every run of a machine
    torch.save(build_base_gpt().state_dict(), BASE_WEIGHTS)
    print(f"wrote {BASE_WEIGHTS}")
