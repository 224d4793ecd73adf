"""A tiny character-level GPT, nanoGPT-style: config, attention, MLP, block, model.

Introduced in 03_gpt (where the learner writes causal attention, the block and the sampler);
05_lora fine-tunes ``load_base_gpt()``, injecting LoRA into the ``q_proj`` / ``v_proj`` layers
of every ``CausalSelfAttention`` by name.

Also here: the unigram and bigram baselines (count-based, nats per character), ``evaluate``
(mean validation cross-entropy), ``train_gpt`` (a step-based loop with warmup + cosine
learning rate, stopped by a step count or a wall-clock budget) and ``load_base_gpt``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..data.text import Text, load_text, sample_batch
from ..runtime import Budget, cached_state, one_thread
from ..train import History


# ---------------------------------------------------------------- the model

@dataclass
class GPTConfig:
    """The model's shape. The defaults are 03_gpt's 0.42M-parameter model: on a 2-core CPU,
    two layers trained for twice as many steps beat four layers (0.8M) for the same seconds."""

    vocab_size: int = 104
    block_size: int = 64     # the longest context the model sees (learned positions)
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0     # 0 for short runs: there is far more text than steps

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     return_weights: bool = False):
    """Causal scaled dot-product attention, written out.

    ``q, k, v``: (..., T, d). Position t attends to positions ≤ t only:
    ``softmax(q kᵀ / √d + M) v`` with ``M`` = −∞ above the diagonal. Equals
    ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``. With ``return_weights`` it
    also returns the attention weights (..., T, T) (rows sum to 1; 03's attention viewer).
    """
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    out = weights @ v
    return (out, weights) if return_weights else out


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with separate ``q_proj``, ``k_proj``, ``v_proj`` and
    ``out_proj`` layers (one Linear each, so LoRA can target them by name)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.q_proj = nn.Linear(config.n_embd, config.n_embd)
        self.k_proj = nn.Linear(config.n_embd, config.n_embd)
        self.v_proj = nn.Linear(config.n_embd, config.n_embd)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)
        self.fast = True  # use torch's fused kernel (same maths; tested equal) unless weights are wanted

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, C) -> (B, n_head, T, C / n_head)
        return x.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        B, T, C = x.shape
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        weights = None
        if self.fast and not return_weights:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y, weights = causal_attention(q, k, v, return_weights=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble the heads side by side
        y = self.dropout(self.out_proj(y))
        return (y, weights) if return_weights else y


class MLP(nn.Module):
    """Position-wise feed-forward network: n_embd → 4·n_embd → GELU → n_embd."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token + position embeddings → ``n_layer`` blocks → final LayerNorm → logits.

    The output layer shares its weight with the token embedding (weight tying)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: shrink the layers that write into the residual
            if name.endswith(("out_proj.weight", "mlp.proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Trainable parameters, the position table included, the tied output layer counted once."""
        return sum(p.numel() for p in self.parameters())

    def _check(self, idx: torch.Tensor) -> None:
        if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long or idx.ndim != 2:
            raise ValueError("idx must be a (batch, time) tensor of int64 token ids, got "
                             f"{getattr(idx, 'dtype', type(idx).__name__)} of shape {tuple(getattr(idx, 'shape', ()))}")
        if idx.shape[1] > self.config.block_size:
            raise ValueError(f"sequence of length {idx.shape[1]} is longer than block_size "
                             f"{self.config.block_size}: crop it to the last {self.config.block_size} tokens")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.config.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.config.vocab_size})")

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits (B, T, vocab_size) and, given ``targets`` (B, T), the mean cross-entropy (nats)."""
        self._check(idx)
        T = idx.shape[1]
        x = self.drop(self.tok_emb(idx) + self.pos_emb(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets must have idx's shape {tuple(idx.shape)}, got {tuple(targets.shape)}")
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer: a list of ``n_layer`` tensors (B, n_head, T, T)."""
        self._check(idx)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1], device=idx.device))
        maps = []
        for block in self.blocks:
            a, w = block.attn(block.ln1(x), return_weights=True)
            x = x + a
            x = x + block.mlp(block.ln2(x))
            maps.append(w)
        return maps

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T), one at a time, each drawn
        from ``next_token_probs`` of the last position (context cropped to ``block_size``)."""
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if idx.ndim != 2 or idx.shape[1] < 1:
            raise ValueError(f"idx must be (batch, time) with time >= 1 (a prompt), got shape {tuple(idx.shape)}")
        was_training = self.training
        self.eval()
        with one_thread():  # many tiny forward passes: a second thread only adds overhead
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -self.config.block_size:])
                probs = next_token_probs(logits[:, -1, :], temperature, top_k)
                nxt = torch.multinomial(probs, 1, generator=generator)
                idx = torch.cat([idx, nxt], dim=1)
        self.train(was_training)
        return idx


def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """The sampling distribution over the last axis of ``logits``: divide by ``temperature``,
    keep the ``top_k`` largest logits (ties with the k-th are kept too), softmax.

    ``temperature`` → 0 approaches greedy decoding, 1 is the model's own distribution, > 1 is
    flatter. ``top_k=None`` keeps every token.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and not 1 <= top_k:
        raise ValueError(f"top_k must be None or >= 1, got {top_k}")
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)


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


# ---------------------------------------------------------------- training

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


def lr_at(progress: float, lr: float, warmup: float, min_lr_ratio: float = 0.1) -> float:
    """Warmup then cosine: linear from 0 to ``lr`` over the first ``warmup`` fraction of training,
    then a half cosine down to ``min_lr_ratio * lr`` at ``progress`` = 1."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return lr * progress / warmup
    t = (progress - warmup) / max(1e-12, 1 - warmup)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def train_gpt(config: GPTConfig, data: Text, time_budget: float | None = None, *,
              max_steps: int | None = None, batch_size: int = 32, lr: float = 5e-3,
              warmup: float = 0.05, min_lr_ratio: float = 0.1, weight_decay: float = 0.1,
              eval_every: int = 100, eval_blocks: int = 64, seed: int = 0, progress: bool = True,
              live_plot: bool = False, baselines: dict[str, float] | None = None,
              auto_threads: bool = True, device: torch.device | str | None = None) -> tuple[GPT, History]:
    """Train a fresh ``GPT(config)`` on ``data.train_ids`` and return it with its history.

    Training stops after ``max_steps`` steps or ``time_budget`` seconds, whichever comes first
    (at least one must be given). The learning-rate schedule (``lr_at``) runs on *progress*,
    the larger of step / max_steps and elapsed / time_budget, so the cosine reaches its floor
    just as the budget is spent. Every ``eval_every`` steps the history gets a record with
    ``step``, ``time`` (training seconds, evaluation excluded), ``train_loss`` (mean since the
    last record) and ``val_loss`` (on ``eval_blocks`` evenly spaced validation blocks; the final
    record uses all of them).

    Why not ``genlab.train.fit``: fit counts epochs over a DataLoader and keeps one learning
    rate; a language model samples random windows, counts steps, and needs warmup + decay.
    ``live_plot=True`` redraws the curves at every record, with ``baselines`` as dotted lines.

    ``auto_threads`` (CPU with a time budget only): every 250 steps, time 5 steps with all of
    torch's threads and 5 with one, and keep the faster. On a quiet 2-core CPU two threads are
    about 1.5× faster; when another program keeps a core busy, two threads that wait on each
    other can be several times *slower* than one. ``history.threads`` records the choices.
    """
    if time_budget is None and max_steps is None:
        raise ValueError("give max_steps, time_budget, or both: otherwise training never stops")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if lr <= 0 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"need lr > 0, batch_size >= 1, eval_every >= 1; got {lr}, {batch_size}, {eval_every}")
    if config.vocab_size != data.vocab_size:
        raise ValueError(f"config.vocab_size is {config.vocab_size} but the data's tokenizer has {data.vocab_size}")
    torch.manual_seed(seed)
    device = torch.device(device) if device is not None else torch.device("cpu")
    model = GPT(config).to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]    # matrices and embeddings decay;
    no_decay = [p for p in model.parameters() if p.ndim < 2]  # biases and LayerNorm gains do not
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(seed)
    budget = Budget(time_budget)
    history = History()
    plot = _StepPlot(baselines) if live_plot else None
    bar = tqdm(total=max_steps, desc="training", unit="step", disable=not progress)
    step, total, count = 0, 0.0, 0
    train_time = 0.0  # seconds spent training, evaluation excluded
    max_threads = torch.get_num_threads()
    probe = auto_threads and time_budget is not None and device.type == "cpu" and max_threads > 1
    timings: dict[int, list[float]] = {max_threads: [], 1: []}
    history.threads = []
    model.train()
    while True:
        frac = max(step / max_steps if max_steps else 0.0,
                   train_time / time_budget if time_budget else 0.0)
        done = frac >= 1.0
        if step and (done or step % eval_every == 0):
            record = {"step": step, "time": train_time, "train_loss": total / max(count, 1),
                      "val_loss": evaluate(model, data.val_ids, max_blocks=None if done else eval_blocks)}
            history.records.append(record)
            total, count = 0.0, 0
            bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
            if plot:
                plot.update(history)
        if done:
            break
        phase = step % 250  # steps 1-5 of each 250 with all threads, 6-10 with one, then the faster
        if probe and 1 <= phase <= 10:
            torch.set_num_threads(max_threads if phase <= 5 else 1)
        elif probe and phase == 11:
            best = min(timings, key=lambda n: sorted(timings[n])[len(timings[n]) // 2])
            torch.set_num_threads(best)
            history.threads.append((step, best))
            timings = {max_threads: [], 1: []}
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr_at(frac, lr, warmup, min_lr_ratio)
        x, y = sample_batch(data.train_ids, batch_size, config.block_size, gen)
        _, loss = model(x.to(device), y.to(device))
        if not torch.isfinite(loss):
            torch.set_num_threads(max_threads)
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; try a smaller lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step, total, count = step + 1, total + loss.item(), count + 1
        seconds = time.perf_counter() - t0
        train_time += seconds
        if probe and 1 <= phase <= 10:
            timings[torch.get_num_threads()].append(seconds)
        bar.update(1)
    torch.set_num_threads(max_threads)
    bar.close()
    if plot:
        plot.close()
    history.seconds = budget.elapsed
    history.stopped_by_budget = bool(time_budget) and (max_steps is None or step < max_steps)
    model.eval()
    return model, history


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


def finetune_gpt(model: GPT, train_ids: torch.Tensor, val_ids: torch.Tensor, *, max_steps: int,
                 batch_size: int = 32, lr: float = 1e-3, warmup: float = 0.1, min_lr_ratio: float = 0.1,
                 eval_every: int = 50, eval_blocks: int = 48, seed: int = 0, progress: bool = True) -> History:
    """Continue training ``model`` in place on ``train_ids`` for ``max_steps`` steps (05_lora).

    Only the parameters with ``requires_grad=True`` are updated (all of them for full
    fine-tuning, the adapters' A and B after ``lora.add_lora``), with AdamW, no weight decay
    and the warmup + cosine schedule of ``lr_at``. The same ``seed`` draws the same batches,
    so runs with different trainable parameters are compared on the same data. The history's
    records hold ``step``, ``train_loss`` and ``val_loss`` (``eval_blocks`` evenly spaced blocks).
    """
    if max_steps < 1 or batch_size < 1 or eval_every < 1 or lr <= 0:
        raise ValueError(f"need max_steps, batch_size, eval_every >= 1 and lr > 0; got "
                         f"{max_steps}, {batch_size}, {eval_every}, {lr}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all requires_grad=False?)")
    device = params[0].device
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    budget = Budget(None)
    total, count = 0.0, 0
    model.train()
    for step in tqdm(range(1, max_steps + 1), desc="fine-tuning", unit="step", disable=not progress):
        for group in opt.param_groups:
            group["lr"] = lr_at((step - 1) / max_steps, lr, warmup, min_lr_ratio)
        x, y = sample_batch(train_ids, batch_size, model.config.block_size, gen)
        _, loss = model(x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        total, count = total + loss.item(), count + 1
        if step % eval_every == 0 or step == max_steps:
            history.records.append({"step": step, "time": budget.elapsed, "train_loss": total / count,
                                    "val_loss": evaluate(model, val_ids, max_blocks=eval_blocks)})
            total, count = 0.0, 0
    model.eval()
    history.seconds = budget.elapsed
    return history


# ---------------------------------------------------------------- the base model for 05_lora

BASE_VERSION = 1
BASE_CONFIG = dict(block_size=64, n_layer=2, n_head=4, n_embd=128, dropout=0.0)
BASE_TRAINING = dict(max_steps=1200, batch_size=32, lr=5e-3, warmup=0.05, seed=0)


def load_base_gpt() -> GPT:
    """05_lora's base model: 03's GPT trained on the pydoc training text for a fixed number of
    steps with a fixed seed on one thread (the same weights on every run of a machine), built on
    first use (a few minutes) and read from ``genlab.runtime.cache_dir()`` afterwards.

    Its tokenizer is ``genlab.data.load_text().tokenizer``. Learner code never trains it.
    """
    data = load_text()
    config = GPTConfig(vocab_size=data.vocab_size, **BASE_CONFIG)

    def build() -> GPT:
        return train_gpt(config, data, eval_every=BASE_TRAINING["max_steps"], progress=False,
                         **BASE_TRAINING)[0]

    model = GPT(config)
    model.load_state_dict(cached_state(f"pydoc-gpt-v{BASE_VERSION}.pt", build))
    return model.eval()


__all__ = ["GPTConfig", "causal_attention", "CausalSelfAttention", "MLP", "Block", "GPT",
           "next_token_probs", "unigram_log_probs", "bigram_log_probs", "unigram_loss", "bigram_loss",
           "evaluate", "lr_at", "train_gpt", "finetune_gpt", "load_base_gpt", "BASE_CONFIG", "BASE_TRAINING"]
