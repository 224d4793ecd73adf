"""The library's one Transformer block: attention, MLP, block and a stack of blocks.

Introduced in 03_gpt (causal, for a character language model); 08_netformer's encoder uses it
with ``causal=False`` and a padding mask, and 10_clip builds both CLIP towers from it (the image
tower bidirectional, the text tower causal, QuickGELU for OpenAI's checkpoints).

The block is pre-norm (GPT-2, CLIP): ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``. Its
parameter names are fixed — ``ln1``, ``attn.{q,k,v,out}_proj``, ``ln2``, ``mlp.{fc,proj}`` — with
separate q, k, v layers so that LoRA (05_lora) can target ``q_proj`` / ``v_proj`` by name;
``genlab.vision.checkpoint`` maps OpenAI's fused ``in_proj`` onto them.

Masks are boolean, True where a query may attend a key (``F.scaled_dot_product_attention``'s
convention).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """OpenAI CLIP's GELU approximation ``x · σ(1.702 x)``; its checkpoints were trained with it."""
    return x * torch.sigmoid(1.702 * x)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"gelu": F.gelu, "quick_gelu": quick_gelu}


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True,
              mask: torch.Tensor | None = None, return_weights: bool = False):
    """Scaled dot-product attention, written out: ``softmax(q kᵀ / √d + M) v``.

    ``q``: (..., T, d), ``k, v``: (..., S, d). ``M`` is −∞ where attention is forbidden: above
    the diagonal when ``causal`` (position t sees positions ≤ t), and wherever the boolean
    ``mask`` (broadcastable to (..., T, S)) is False. With ``return_weights`` it also returns
    the weights (..., T, S), whose rows sum to 1.
    """
    T, S, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if causal:
        future = torch.ones(T, S, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    out = weights @ v
    return (out, weights) if return_weights else out


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, return_weights: bool = False):
    """Causal scaled dot-product attention (03_gpt's exercise): ``attention(q, k, v, causal=True)``.

    Equals ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``; with ``return_weights``
    it also returns the lower-triangular weights (03's attention viewer).
    """
    return attention(q, k, v, causal=True, return_weights=return_weights)


def _check_width(width: int, heads: int) -> None:
    for name, value in (("width", width), ("heads", heads)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if width % heads:
        raise ValueError(f"width ({width}) must be divisible by heads ({heads})")


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``.

    ``causal=True`` masks the future (GPT, CLIP's text tower); ``causal=False`` lets every
    position see every other (a ViT, 08's encoder).
    """

    def __init__(self, width: int, heads: int, causal: bool = True, dropout: float = 0.0):
        super().__init__()
        _check_width(width, heads)
        self.width, self.heads, self.causal = width, heads, causal
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, C) -> (B, heads, T, C / heads)
        return x.view(B, T, self.heads, C // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_weights: bool = False):
        """(B, T, C) -> (B, T, C); with ``return_weights`` also the weights (B, heads, T, T).

        ``mask``: boolean, True where attention is allowed — (B, T) says which keys exist (a
        key-padding mask: PAD tokens are never attended), any other shape must broadcast to
        (B, heads, T, T). Training uses torch's fused kernel; the weights come from
        ``attention``, the same maths written out (tested equal).
        """
        B, T, C = x.shape
        if mask is not None:
            if mask.dtype != torch.bool:
                raise ValueError(f"mask must be boolean (True = may attend), got {mask.dtype}")
            mask = mask[:, None, None, :] if mask.ndim == 2 else mask   # key padding: (B, 1, 1, T)
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        if return_weights:
            y, weights = attention(q, k, v, self.causal, mask, return_weights=True)
        elif mask is None:
            y, weights = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal), None
        else:  # the fused kernel takes one mask: fold the causal one into it
            if self.causal:
                mask = mask & torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            y, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble the heads side by side
        y = self.dropout(self.out_proj(y))
        return (y, weights) if return_weights else y


class MLP(nn.Module):
    """Position-wise feed-forward network: width → 4·width → activation → width.

    ``activation``: ``"gelu"`` (GPT, new models) or ``"quick_gelu"`` (OpenAI's CLIP weights).
    """

    def __init__(self, width: int, activation: str = "gelu", dropout: float = 0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(ACTIVATIONS[self.activation](self.fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""

    def __init__(self, width: int, heads: int, causal: bool = True, activation: str = "gelu",
                 dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, causal, dropout)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = MLP(width, activation, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, C) -> (B, T, C); ``mask`` as in ``SelfAttention.forward``."""
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """``layers`` blocks applied in turn, kept in ``resblocks`` (OpenAI CLIP's name)."""

    def __init__(self, width: int, layers: int, heads: int, causal: bool = True, activation: str = "gelu",
                 dropout: float = 0.0):
        super().__init__()
        if not isinstance(layers, int) or layers < 0:
            raise ValueError(f"layers must be an int >= 0, got {layers!r}")
        self.width, self.layers = width, layers
        self.resblocks = nn.ModuleList(Block(width, heads, causal, activation, dropout) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


__all__ = ["ACTIVATIONS", "quick_gelu", "attention", "causal_attention", "SelfAttention", "MLP", "Block",
           "Transformer"]
