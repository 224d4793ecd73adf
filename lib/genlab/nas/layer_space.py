"""A space of plain CNNs where a generated architecture can be invalid. Introduced in 08_netformer.

Every sequence of 6 ops is a valid NAS-Bench-201 cell; real design spaces are not like that.
``LayerSpace`` describes plain CNNs for 8×8 digits as sequences of layer tokens (``conv3-16``,
``pool``, …) whose shapes, depth and parameter count must stay within limits:
``LayerSpace.violations`` says why a sequence is invalid, ``count_parameters`` counts a network's
parameters from its tokens without building it, and ``sample_quality`` measures the validity,
uniqueness and novelty of generated sequences (GraphVAE / D-VAE's three numbers). The sequences
are written with ``netformer``'s tokens, so 08's Transformer VAE learns this space too.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from .netformer import Vocab, detokenize, tokenize

_LAYER = re.compile(r"^conv(\d+)-(\d+)$")


def parse_layer(token: str) -> tuple[str, int, int | None]:
    """``'conv3-16'`` → ``('conv', 3, 16)``; ``'pool'`` → ``('pool', 2, None)``; else ``ValueError``."""
    if token == "pool":
        return ("pool", 2, None)
    m = _LAYER.match(token) if isinstance(token, str) else None
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"unknown layer {token!r}: expected 'conv<k>-<channels>' or 'pool'")
    return ("conv", int(m.group(1)), int(m.group(2)))


LAYER_TOKENS = tuple(f"conv{k}-{c}" for k in (1, 3, 5) for c in (8, 16, 32)) + ("pool",)


@dataclass(frozen=True)
class LayerSpace:
    """Plain CNNs for ``input_size``² images as sequences of layer tokens (08's constrained space).

    ``conv<k>-<c>``: a k×k convolution *without padding* (stride 1, bias, ReLU) to c channels,
    so the side shrinks by k − 1 and needs side ≥ k. ``pool``: 2×2 max-pooling, stride 2, side
    → side // 2, needs side ≥ 2. Then global average pooling and a linear layer to the classes.
    A sequence is valid when its tokens are known, ``min_depth ≤ length ≤ max_depth``, every
    layer fits the shape it receives, and the parameters (convs + head) are ≤ ``max_params``.
    """

    tokens: tuple[str, ...] = LAYER_TOKENS
    input_size: int = 8
    in_channels: int = 1
    num_classes: int = 10
    min_depth: int = 2
    max_depth: int = 8
    max_params: int = 20_000

    def __post_init__(self):
        for t in self.tokens:
            parse_layer(t)
        if not 1 <= self.min_depth <= self.max_depth:
            raise ValueError(f"need 1 <= min_depth <= max_depth, got {self.min_depth}, {self.max_depth}")

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.tokens)

    @property
    def max_len(self) -> int:
        return self.max_depth + 2

    def trace(self, layers: Sequence[str]) -> list[tuple[int, int, int]]:
        """(channels, side, parameters) after each layer, until the first one that does not fit."""
        c, s, out = self.in_channels, self.input_size, []
        for t in layers:
            kind, k, c_out = parse_layer(t)
            if s < k:
                break
            if kind == "pool":
                s, p = s // 2, 0
            else:
                s, p = s - k + 1, k * k * c * c_out + c_out
                c = c_out
            out.append((c, s, p))
        return out

    def count_parameters(self, layers: Sequence[str]) -> int:
        """Parameters of the network ``build(layers)`` makes — convolutions and the linear head, weights
        and biases — counted from the tokens without building it (``genlab.nn.count_parameters``
        of the built network gives the same number)."""
        trace = self.trace(layers)
        if len(trace) < len(layers):
            raise ValueError(f"{list(layers)} does not fit a {self.input_size}×{self.input_size} input")
        c = trace[-1][0] if trace else self.in_channels
        return sum(p for _, _, p in trace) + c * self.num_classes + self.num_classes

    def violations(self, layers: Sequence[str]) -> list[str]:
        """Why ``layers`` is not a valid network (an empty list when it is)."""
        reasons = []
        unknown = [t for t in layers if t not in self.tokens]
        if unknown:
            return [f"unknown token(s) {unknown}"]
        if not self.min_depth <= len(layers) <= self.max_depth:
            reasons.append(f"depth {len(layers)} outside [{self.min_depth}, {self.max_depth}]")
        trace = self.trace(layers)
        if len(trace) < len(layers):
            side = trace[-1][1] if trace else self.input_size
            reasons.append(f"layer {len(trace) + 1} ({layers[len(trace)]}) needs a larger input than {side}×{side}")
        elif self.count_parameters(layers) > self.max_params:
            reasons.append(f"{self.count_parameters(layers):,} parameters > {self.max_params:,}")
        return reasons

    def is_valid(self, layers: Sequence[str]) -> bool:
        return not self.violations(layers)

    def build(self, layers: Sequence[str]) -> nn.Sequential:
        """The PyTorch network of a valid sequence (``ValueError`` with the reasons otherwise)."""
        reasons = self.violations(layers)
        if reasons:
            raise ValueError(f"invalid network {list(layers)}: " + "; ".join(reasons))
        mods: list[nn.Module] = []
        c = self.in_channels
        for t in layers:
            kind, k, c_out = parse_layer(t)
            if kind == "pool":
                mods.append(nn.MaxPool2d(2))
            else:
                mods += [nn.Conv2d(c, c_out, k), nn.ReLU()]
                c = c_out
        mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, self.num_classes)]
        return nn.Sequential(*mods)

    def random_sequence(self, rng: random.Random) -> tuple[str, ...]:
        """The baseline generator: a uniform length in [min_depth, max_depth], uniform tokens."""
        return tuple(rng.choice(self.tokens) for _ in range(rng.randint(self.min_depth, self.max_depth)))

    def random_valid(self, rng: random.Random, max_tries: int = 10_000) -> tuple[str, ...]:
        """A valid sequence of a uniform random depth, its tokens by rejection sampling.

        (Rejection from ``random_sequence`` itself would make deep networks rare: few random
        deep sequences fit an 8×8 input.)
        """
        depth = rng.randint(self.min_depth, self.max_depth)
        for _ in range(max_tries):
            layers = tuple(rng.choice(self.tokens) for _ in range(depth))
            if self.is_valid(layers):
                return layers
        raise ValueError(f"no valid sequence of depth {depth} in {max_tries} tries: are the limits satisfiable?")

    def train_on_digits(self, layers: Sequence[str], data, num_epochs: int = 4, lr: float = 3e-3,
                        seed: int = 0) -> float:
        """Build a valid network, train it with AdamW (one recipe for every network) and return
        its test accuracy on the digits. ``data`` is ``genlab.data.load_digits(flatten=False)``.

        08 uses it to ask whether generated networks train as well as random valid ones.
        """
        from ..train import accuracy, fit

        torch.manual_seed(seed)
        net = self.build(layers)
        fit(net, lambda m, b: nn.functional.cross_entropy(m(b[0]), b[1]), (data.X_train, data.y_train),
            num_epochs=num_epochs, lr=lr, seed=seed, progress=False)
        return accuracy(net, data.X_test, data.y_test)

    def encode(self, nets: Sequence[Sequence[str]]) -> torch.Tensor:
        """Sequences of layer tokens as a (N, max_len) tensor of ids."""
        return torch.tensor([tokenize(n, self.vocab, self.max_len) for n in nets], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> list[tuple[str, ...]]:
        return [detokenize(row, self.vocab) for row in ids.tolist()]


def sample_quality(samples: Sequence[Sequence[str]], train: Sequence[Sequence[str]],
                   is_valid: Callable[[Sequence[str]], bool]) -> dict[str, float]:
    """Validity, uniqueness and novelty of generated sequences (GraphVAE / D-VAE's three numbers).

    ``valid``: share of samples that are valid; ``unique``: distinct valid samples / valid
    samples; ``novel``: share of the distinct valid samples that are not in ``train``.
    """
    if not samples:
        raise ValueError("need at least one sample")
    valid = [tuple(s) for s in samples if is_valid(s)]
    distinct = set(valid)
    seen = {tuple(t) for t in train}
    return {"valid": len(valid) / len(samples),
            "unique": len(distinct) / len(valid) if valid else 0.0,
            "novel": len(distinct - seen) / len(distinct) if distinct else 0.0}


__all__ = ["parse_layer", "LAYER_TOKENS", "LayerSpace", "sample_quality"]
