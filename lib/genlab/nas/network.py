"""The network every DigitsBench-201 cell is trained in (NAS-Bench-201's skeleton, sized for 8×8).

Introduced in 06_nas_search; 07_darts builds its supernet from the same ``OP_BUILDERS``.

stem 3×3 conv (C) → cell → residual reduction (2C, 4×4) → cell → reduction (4C, 2×2) → cell
→ BN-ReLU → global average pool → linear. NAS-Bench-201 stacks 5 cells per stage on 32×32
CIFAR images; one per stage suits 8×8 digits and a CPU.

Inside cells, batch norm has no affine shift, so an op applied to a zero input returns exactly
zero: that is what lets ``space.canonical`` treat such cells as one.
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
    """Between stages: 2×2 average pool, then a 1×1 conv to twice the channels.

    NAS-Bench-201 uses a residual block with two 3×3 convs here; on digits those convs alone
    reach 97 % whatever the cell, so ours has no spatial conv and the cells must supply it.
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.AvgPool2d(2), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))


class CellNetwork(nn.Module):
    """The benchmark's network around one cell (or, for DARTS, around any cell-like module).

    ``make_cell(channels)`` builds the module used at each of the 3 stages.
    """

    def __init__(self, make_cell, channels: int = 16, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.stages = nn.Sequential(
            make_cell(c), Reduction(c, 2 * c), make_cell(2 * c))
        self.head = nn.Sequential(nn.BatchNorm2d(2 * c), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(2 * c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:                      # rows of 64 pixels → (N, 1, 8, 8)
            x = x.view(-1, 1, 8, 8)
        return self.head(self.stages(self.stem(x)))


def build_network(cell: Cell, channels: int = 16, num_classes: int = 10) -> CellNetwork:
    """The network for one cell of the space (any encoding)."""
    ops = to_ops(cell)
    return CellNetwork(lambda c: CellModule(ops, c), channels, num_classes)
