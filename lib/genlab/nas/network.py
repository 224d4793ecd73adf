"""The network every DigitsBench-201 cell is trained in: NAS-Bench-201's skeleton, cut down for 8×8.

Introduced in 06_nas_search; 07_darts builds its supernet from the same ``OP_BUILDERS``.

Exactly what is built (``CellNetwork``), with C = 16 channels in the benchmark::

    stem: 3×3 conv (1 → C) → BN                                   8×8
    cell (C)                                                      8×8
    reduction: 2×2 average pool → 1×1 conv (C → 2C) → BN          4×4
    cell (2C)                                                     4×4
    head: BN → ReLU → global average pool → linear (2C → 10)

Two cells, one per stage, and one plain (not residual) reduction. NAS-Bench-201 (Dong & Yang
2020, Fig. 1) has three stages of N = 5 cells with C = 16, 32, 64 channels, joined by two
residual blocks (two 3×3 convs, stride 2, with a pooled 1×1 shortcut). On 8×8 digits a third
stage would work on 1×1 maps, and a reduction with 3×3 convs does much of the cell's job
(``Reduction`` says how much), so the ranking would say less about the cell.

Inside cells, batch norm has no affine shift, so an op applied to a zero input returns exactly
zero: that is what lets ``space.canonical`` drop zero terms exactly.
"""
from __future__ import annotations

import torch
from torch import nn

from .space import EDGES, Cell, to_ops


class ReLUConvBN(nn.Sequential):
    """ReLU → k×k conv → BN, NAS-Bench-201's ``nor_conv_kxk``."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(channels, affine=False),
        )


class Zero(nn.Module):
    """The ``none`` op: the edge is absent."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


OP_BUILDERS = {
    "none": lambda c: Zero(),
    "skip_connect": lambda c: nn.Identity(),
    "nor_conv_1x1": lambda c: ReLUConvBN(c, 1),
    "nor_conv_3x3": lambda c: ReLUConvBN(c, 3),
    "avg_pool_3x3": lambda c: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
}


class CellModule(nn.Module):
    """One cell: node j = sum over i < j of op_(j,i)(node i); returns node 3."""

    def __init__(self, cell: Cell, channels: int):
        super().__init__()
        self.ops = to_ops(cell)
        self.edges = nn.ModuleList(OP_BUILDERS[op](channels) for op in self.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(edge(nodes[i]) for edge, (to, i) in zip(self.edges, EDGES) if to == j))
        return nodes[3]


class Reduction(nn.Sequential):
    """Between the two stages: 2×2 average pool, then a 1×1 conv to twice the channels, then BN.

    NAS-Bench-201 uses ``ResidualReduction`` here. Ours has no spatial conv, so the cells must
    supply it: with the identity cell (``x``) our network reaches 49–52 % test accuracy on
    seeds 0–2, NAS-Bench-201's block 98.1–98.6 % (tests/test_nas_benchmark.py measures it).
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction (its ``ResNetBasicblock``), for comparison; not in the benchmark.

    ReLU-conv3×3(stride 2)-BN → ReLU-conv3×3-BN, plus a shortcut: 2×2 average pool → 1×1 conv.
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.a = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out))
        self.b = ReLUConvBN(c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.shortcut(x)


class CellNetwork(nn.Module):
    """The benchmark's network around one cell (or, for DARTS, around any cell-like module).

    ``make_cell(channels)`` builds the module used at each of the 2 stages (C, then 2C channels).
    """

    def __init__(self, make_cell, channels: int = 16, num_classes: int = 10, in_channels: int = 1,
                 reduction=Reduction):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.stages = nn.Sequential(
            make_cell(c), reduction(c, 2 * c), make_cell(2 * c))
        self.head = nn.Sequential(nn.BatchNorm2d(2 * c), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(2 * c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:                      # rows of 64 pixels → (N, 1, 8, 8)
            x = x.view(-1, 1, 8, 8)
        return self.head(self.stages(self.stem(x)))


def build_network(cell: Cell, channels: int = 16, num_classes: int = 10, reduction=Reduction) -> CellNetwork:
    """The network for one cell of the space (any encoding)."""
    ops = to_ops(cell)
    return CellNetwork(lambda c: CellModule(ops, c), channels, num_classes, reduction=reduction)
