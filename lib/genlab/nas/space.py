"""The NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020). Introduced in 06_nas_search.

A cell is a DAG of 4 nodes. Node 0 is the cell's input, node 3 its output, and every node
``j`` sums one operation applied to each earlier node ``i < j``. That is 6 edges, each with
one of 5 operations, so 5**6 = 15,625 cells. Three encodings name the same cell:

- ``ops``: a tuple of 6 op names in edge order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2);
- ``index``: an int in [0, 15625), the ops read as a base-5 number (first edge most significant);
- ``arch_str``: NAS-Bench-201's own string, ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``.

Many cells compute the same function: a ``none`` edge contributes nothing, a node whose inputs
are all zero is zero, and the order of a sum does not matter. ``canonical`` maps every cell to a
string that is equal for such isomorphic cells, so the benchmark trains each function once.
"""
from __future__ import annotations

import itertools
import numbers
from typing import Iterator, Sequence, Union

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))   # (to, from), in encoding order
NUM_EDGES = len(EDGES)
NUM_CELLS = len(OPS) ** NUM_EDGES                           # 15,625

Ops = tuple[str, ...]
Cell = Union[int, str, Sequence[str]]


def _check_ops(ops: Sequence[str]) -> Ops:
    ops = tuple(ops)
    if len(ops) != NUM_EDGES:
        raise ValueError(f"a cell has {NUM_EDGES} edges, got {len(ops)} ops: {ops!r}")
    bad = [op for op in ops if op not in OPS]
    if bad:
        raise ValueError(f"unknown op(s) {bad!r}; the ops are {OPS}")
    return ops


def index_to_ops(index: int) -> Ops:
    """The 6 op names of cell ``index`` (base-5 digits, first edge most significant)."""
    if not isinstance(index, numbers.Integral) or isinstance(index, bool) or not 0 <= index < NUM_CELLS:
        raise ValueError(f"a cell index is an int in [0, {NUM_CELLS}), got {index!r}")
    index = int(index)
    digits = []
    for _ in range(NUM_EDGES):
        index, d = divmod(index, len(OPS))
        digits.append(OPS[d])
    return tuple(reversed(digits))


def ops_to_index(ops: Sequence[str]) -> int:
    """Inverse of ``index_to_ops``."""
    index = 0
    for op in _check_ops(ops):
        index = index * len(OPS) + OPS.index(op)
    return index


def ops_to_str(ops: Sequence[str]) -> str:
    """NAS-Bench-201's arch string: one ``|op~from|`` group per node, nodes joined by ``+``."""
    ops = _check_ops(ops)
    groups, k = [], 0
    for node in (1, 2, 3):
        groups.append("|" + "|".join(f"{ops[k + i]}~{i}" for i in range(node)) + "|")
        k += node
    return "+".join(groups)


def str_to_ops(arch_str: str) -> Ops:
    """Inverse of ``ops_to_str``; raises ``ValueError`` with the offending part."""
    groups = arch_str.split("+")
    if len(groups) != 3:
        raise ValueError(f"an arch string has 3 '+'-separated nodes, got {arch_str!r}")
    ops = []
    for node, group in enumerate(groups, start=1):
        parts = [p for p in group.strip("|").split("|")]
        if len(parts) != node:
            raise ValueError(f"node {node} needs {node} inputs, got {group!r} in {arch_str!r}")
        for i, part in enumerate(parts):
            op, _, src = part.partition("~")
            if src != str(i):
                raise ValueError(f"expected '{op}~{i}' in node {node}, got {part!r}")
            ops.append(op)
    return _check_ops(ops)


def to_ops(cell: Cell) -> Ops:
    """Any encoding (index, arch string, or sequence of op names) as a tuple of op names."""
    if isinstance(cell, bool):
        raise ValueError(f"not a cell: {cell!r}")
    if isinstance(cell, numbers.Integral):      # also NumPy integers, e.g. from argsort
        return index_to_ops(cell)
    if isinstance(cell, str):
        return str_to_ops(cell)
    if not isinstance(cell, (tuple, list)):
        raise ValueError(f"a cell is an index, an arch string or a sequence of 6 op names, got {cell!r}")
    return _check_ops(cell)


def all_cells() -> Iterator[Ops]:
    """Every one of the 15,625 cells, in index order."""
    return itertools.product(OPS, repeat=NUM_EDGES)


def canonical(cell: Cell) -> str:
    """A string equal for cells that compute the same function (NAS-Bench-201's rule).

    Built node by node: a zero input (``none``, or a node that is zero) is dropped, a skip
    passes its input's string through, any other op wraps it as ``(input)@op``; a node is the
    sorted ``+`` of its terms (sums commute), or ``#`` when every term is zero.
    """
    ops = to_ops(cell)
    node = {0: "x"}
    for j in (1, 2, 3):
        terms = []
        for k, (to, src) in enumerate(EDGES):
            if to != j or ops[k] == "none" or node[src] == "#":
                continue
            terms.append(node[src] if ops[k] == "skip_connect" else f"({node[src]})@{ops[k]}")
        node[j] = "+".join(sorted(terms)) if terms else "#"
    return node[3]


def mutate(cell: Cell, rng) -> Ops:
    """One random edge set to a different op (the mutation used by regularised evolution).

    ``rng`` is a ``random.Random`` (or anything with ``randrange`` and ``choice``).
    """
    ops = list(to_ops(cell))
    k = rng.randrange(NUM_EDGES)
    ops[k] = rng.choice([op for op in OPS if op != ops[k]])
    return tuple(ops)


SHORT_NAMES = {"none": "·", "skip_connect": "skip", "nor_conv_1x1": "c1", "nor_conv_3x3": "c3",
               "avg_pool_3x3": "pool"}


def short(cell: Cell) -> str:
    """A cell as 6 short op names in edge order 1←0 2←0 2←1 3←0 3←1 3←2, for tables (07, 08)."""
    return " ".join(f"{SHORT_NAMES[op]:>4}" for op in to_ops(cell))


def one_hot(cell: Cell) -> list[float]:
    """A 30-long 0/1 vector: for each edge, which of the 5 ops it uses (predictors' input)."""
    return [float(op == name) for op in to_ops(cell) for name in OPS]


def random_cell(rng) -> Ops:
    """A uniformly random cell; ``rng`` is a ``random.Random``."""
    return tuple(rng.choice(OPS) for _ in range(NUM_EDGES))
