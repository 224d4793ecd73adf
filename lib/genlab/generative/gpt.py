"""A tiny character-level GPT, nanoGPT-style: config, attention, MLP, block, model, sampling.

Introduced in 03_gpt, where the learner writes causal attention (``causal_attention``), the
multi-head attention (``CausalSelfAttention``), the block (``Block``) and the sampling
distribution (``next_token_probs``); ``with_blocks`` builds the model from the learner's blocks,
``sample`` samples with the learner's distribution, ``top_p_probs`` and ``sample_cached`` (a
key-value cache) are 03's sampling experiments, ``PostNormBlock`` its pre- vs post-norm one. The attention, MLP and
block are the library's one Transformer block (``genlab.nn.transformer``), which 08_netformer
and 10_clip reuse; here they keep 03's names and are built from a ``GPTConfig``. 05_lora
injects LoRA into the ``q_proj`` / ``v_proj`` layers of every attention by name. How the model is trained and scored — the
n-gram baselines, ``evaluate``, ``train_gpt``, ``finetune_gpt``, ``load_base_gpt`` — lives
in ``gpt_train``, as nanoGPT keeps model.py and train.py apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..nn import transformer
from ..nn.transformer import causal_attention


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


class CausalSelfAttention(transformer.SelfAttention):
    """The library's attention (``genlab.nn.transformer``) with the causal mask, sized by a
    ``GPTConfig``: 03's learner builds the block from it, and LoRA finds ``q_proj`` / ``v_proj``."""

    def __init__(self, config: GPTConfig):
        super().__init__(config.n_embd, config.n_head, causal=True, dropout=config.dropout)


class MLP(transformer.MLP):
    """The library's feed-forward network, n_embd → 4·n_embd → GELU → n_embd, from a ``GPTConfig``."""

    def __init__(self, config: GPTConfig):
        super().__init__(config.n_embd, activation="gelu", dropout=config.dropout)


class Block(transformer.Block):
    """The library's pre-norm block, causal, from a ``GPTConfig``: ``x + attn(ln1(x))``, then
    ``x + mlp(ln2(x))`` (03's exercise; its tests compare the learner's block with this one)."""

    def __init__(self, config: GPTConfig):
        super().__init__(config.n_embd, config.n_head, causal=True, activation="gelu", dropout=config.dropout)


class PostNormBlock(Block):
    """The original transformer's post-norm block (Vaswani et al., 2017): ``ln1(x + attn(x))``,
    then ``ln2(x + mlp(x))`` — the normalisation sits on the residual path. Same layers and
    parameter names as ``Block``, so ``with_blocks(GPT(config), PostNormBlock)`` starts from the
    same weights; 03_gpt compares the two at an equal number of steps."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.mlp(x))


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


# ---------------------------------------------------------------- 03's learner-built model

def with_blocks(model: GPT, make_block: Callable[[GPTConfig], nn.Module]) -> GPT:
    """``model`` with every block replaced, in place, by ``make_block(model.config)`` holding the
    old block's weights (the same parameter names: ``ln1``, ``attn.{q,k,v,out}_proj``, ``ln2``,
    ``mlp.{fc,proj}``). Returns ``model``.

    03_gpt trains a GPT built from the learner's block and attention this way: from exactly the
    reference model's initialisation, so the same ``SEED`` starts from the same weights whoever
    wrote the block."""
    for i, old in enumerate(model.blocks):
        new = make_block(model.config)
        new.load_state_dict(old.state_dict())
        model.blocks[i] = new.to(next(old.parameters()).device)
    return model


def _check_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    device = next(model.parameters()).device
    if generator is not None and generator.device.type != device.type:
        raise ValueError(f"the generator lives on {generator.device.type} but the model on {device.type}: "
                         f"sample with torch.Generator(device={device.type!r})")


@torch.no_grad()
def sample(model: nn.Module, idx: torch.Tensor, max_new_tokens: int,
           next_probs: Callable[[torch.Tensor], torch.Tensor] | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """``GPT.generate``'s loop with the sampling distribution given as a function of the last
    position's logits (B, V) → probabilities (B, V); ``None`` is the model's own distribution.

    03_gpt samples with the learner's ``next_token_probs`` this way, e.g.
    ``next_probs=lambda z: next_token_probs(z, 0.8, 10)``. ``generator`` must live on the
    model's device (``torch.Generator(device=...)``)."""
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if idx.ndim != 2 or idx.shape[1] < 1:
        raise ValueError(f"idx must be (batch, time) with time >= 1 (a prompt), got shape {tuple(idx.shape)}")
    _check_generator(model, generator)
    next_probs = next_probs or (lambda z: z.softmax(dim=-1))
    was_training = model.training
    model.eval()
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        nxt = torch.multinomial(next_probs(logits[:, -1, :]), 1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
    model.train(was_training)
    return idx


def top_p_probs(logits: torch.Tensor, top_p: float, temperature: float = 1.0) -> torch.Tensor:
    """Nucleus (top-p) sampling distribution over the last axis (Holtzman et al., 2020): after the
    temperature, keep the smallest set of most likely tokens whose probabilities sum to at least
    ``top_p``, renormalise. Unlike top-k, the number kept adapts: one token where the model is
    sure, many where it is not."""
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p}")
    probs = next_token_probs(logits, temperature)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    before = sorted_probs.cumsum(dim=-1) - sorted_probs        # mass of the more likely tokens
    keep_sorted = before < top_p                                 # the first token is always kept
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(dim=-1, keepdim=True)


@torch.no_grad()
def sample_cached(model: nn.Module, idx: torch.Tensor, max_new_tokens: int,
                  next_probs: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``sample`` with a key-value cache: the prompt runs through the model once, then each new
    token runs alone, its query attending to the keys and values cached for every token before
    it, instead of the whole context being recomputed at every step.

    Works for any GPT whose blocks have the library's parameter names (``ln1``,
    ``attn.{q,k,v,out}_proj``, ``ln2``, ``mlp``), 03's learner-built model included. The text
    must fit in ``block_size`` (learned absolute positions: past it, every cached key would sit
    at a new position and the cache would be stale)."""
    config = model.config
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if idx.ndim != 2 or idx.shape[1] < 1:
        raise ValueError(f"idx must be (batch, time) with time >= 1 (a prompt), got shape {tuple(idx.shape)}")
    if idx.shape[1] + max_new_tokens > config.block_size:
        raise ValueError(f"prompt ({idx.shape[1]}) + max_new_tokens ({max_new_tokens}) exceeds block_size "
                         f"{config.block_size}: the cache needs the whole text inside one context")
    _check_generator(model, generator)
    next_probs = next_probs or (lambda z: z.softmax(dim=-1))
    was_training = model.training
    model.eval()
    caches: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(model.blocks)
    out, start = idx, 0
    for _ in range(max_new_tokens):
        new = out[:, start:]                         # the whole prompt first, then one token at a time
        B, T = new.shape
        x = model.tok_emb(new) + model.pos_emb(torch.arange(start, start + T, device=new.device))
        for i, block in enumerate(model.blocks):
            h, attn = block.ln1(x), block.attn
            C = h.shape[-1]
            d = C // config.n_head
            q, k, v = (proj(h).view(B, T, config.n_head, d).transpose(1, 2)
                       for proj in (attn.q_proj, attn.k_proj, attn.v_proj))
            if caches[i] is not None:
                k, v = torch.cat([caches[i][0], k], dim=2), torch.cat([caches[i][1], v], dim=2)
            caches[i] = (k, v)
            allowed = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(k.shape[2] - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
            x = x + attn.out_proj(y.transpose(1, 2).reshape(B, T, C))
            x = x + block.mlp(block.ln2(x))
        logits = model.lm_head(model.ln_f(x[:, -1]))
        start = out.shape[1]
        out = torch.cat([out, torch.multinomial(next_probs(logits), 1, generator=generator)], dim=1)
    model.train(was_training)
    return out


__all__ = ["GPTConfig", "causal_attention", "CausalSelfAttention", "MLP", "Block", "PostNormBlock", "GPT", "next_token_probs",
           "with_blocks", "sample", "top_p_probs", "sample_cached"]
