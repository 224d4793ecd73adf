"""The NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020). Introduced in 06_nas_search.

A cell is a DAG of 4 nodes. Node 0 is the cell's input, node 3 its output, and every node
``j`` sums one operation applied to each earlier node ``i < j``. That is 6 edges, each with
one of 5 operations, so 5**6 = 15,625 cells. Three encodings name the same cell:

- ``ops``: a tuple of 6 op names in edge order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2);
- ``index``: an int in [0, 15625), the ops read as a base-5 number (first edge most significant);
- ``arch_str``: NAS-Bench-201's own string, ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``.

Many cells compute the same function: a ``none`` edge contributes nothing, a node whose inputs
are all zero is zero, sums commute and nest, and the 3×3 average pool is linear. ``canonical``
maps every cell to a string that is equal exactly when two cells compute the same
parameterised function, so the benchmark trains each function once.
"""
from __future__ import annotations

import itertools
import numbers
from collections import Counter
from functools import lru_cache
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


_CONV = {"nor_conv_1x1": "c1", "nor_conv_3x3": "c3"}
_MARK = 0xE000          # conv edge k is written as chr(_MARK + k) until the labels are chosen


def _terms(ops: Ops) -> list[Counter]:
    """Each node's value as a multiset of terms (term string -> how many times it is added).

    ``x`` is the cell's input; a conv term keeps its edge (its own weights) as a mark;
    ``p(t)`` is the average pool of term t. A skip passes its input's terms on, so sums are
    flattened; the pool is linear, so it is applied term by term; an empty multiset is zero.
    """
    node = [Counter({"x": 1})]
    for j in (1, 2, 3):
        terms: Counter = Counter()
        for k, (to, i) in enumerate(EDGES):
            if to != j or ops[k] == "none" or not node[i]:
                continue                      # no edge, or a zero input: zero in, zero out
            if ops[k] == "skip_connect":
                terms.update(node[i])
            elif ops[k] == "avg_pool_3x3":
                terms.update({f"p({t})": m for t, m in node[i].items()})
            else:                             # ReLU-conv-BN is not linear: it keeps its argument
                terms[f"{_CONV[ops[k]]}{chr(_MARK + k)}({_sum(node[i])})"] += 1
        node.append(terms)
    return node


def _sum(terms: Counter) -> str:
    return "+".join(t if m == 1 else f"{m}*{t}" for t, m in sorted(terms.items())) or "#"


@lru_cache(maxsize=None)
def _canonical(ops: Ops) -> tuple[str, tuple[tuple[int, str], ...]]:
    expr = _sum(_terms(ops)[3])
    convs = sorted({ord(ch) - _MARK for ch in expr if ord(ch) >= _MARK})
    best, best_labels = None, ()
    for perm in itertools.permutations("abcdef"[: len(convs)]):
        s = expr.translate({_MARK + k: label for k, label in zip(convs, perm)})
        if best is None or s < best:
            best, best_labels = s, tuple(zip(convs, perm))
    return best, best_labels


def canonical(cell: Cell) -> str:
    """A string equal for two cells exactly when they compute the same function.

    The string is the cell's output written as a flat sum: ``x`` the input, ``c1a(...)`` /
    ``c3b(...)`` a 1×1 / 3×3 ReLU-conv-BN whose weights are labelled ``a``/``b`` (the same label
    twice is the same conv: ``2*c1a(x)`` is one conv added twice, ``c1a(x)+c1b(x)`` two convs),
    ``p(...)`` the 3×3 average pool (linear, so ``p(x+y)`` is written ``p(x)+p(y)``), ``2*t`` a
    term added twice, and ``#`` the zero function. Zero terms are dropped (every op maps zero to
    zero: see ``network``). The conv labels are the relabelling that gives the smallest string,
    so cells that differ only in which edge holds which conv share it.
    """
    return _canonical(to_ops(cell))[0]


def conv_labels(cell: Cell) -> dict[int, str]:
    """Edge index -> label in ``canonical(cell)`` for each conv edge that reaches the output.

    Two cells with one canonical form compute the same function once the conv on edge k of one
    gets the weights of the conv with the same label in the other (tests/test_nas_space.py).
    """
    return dict(_canonical(to_ops(cell))[1])


def live_ops(cell: Cell) -> Ops:
    """The cell with ``none`` on every edge that cannot change its output.

    An edge is dead when its op is ``none``, its input node is always zero, or its output
    never reaches node 3. The benchmark's parameter and FLOP counts are those of this cell.
    """
    ops = to_ops(cell)
    nonzero = [True, False, False, False]
    for k, (to, i) in enumerate(EDGES):          # edges are in topological order
        nonzero[to] |= ops[k] != "none" and nonzero[i]
    reaches = [False, False, False, True]
    for k in reversed(range(NUM_EDGES)):         # edges into later nodes come later
        to, i = EDGES[k]
        reaches[i] |= ops[k] != "none" and reaches[to]
    return tuple(op if op != "none" and nonzero[i] and reaches[to] else "none"
                 for op, (to, i) in zip(ops, EDGES))


@lru_cache(maxsize=1)
def _first_of_class() -> dict[str, Ops]:
    first: dict[str, Ops] = {}
    for ops in all_cells():
        first.setdefault(canonical(ops), ops)
    return first


def representative(cell: Cell) -> Ops:
    """The lowest-index cell of ``cell``'s class: one name per function.

    A search that codes cells by their representative gives equivalent cells one code (the
    topology-aware encoding of 08_netformer, as D-VAE and arch2vec encode graphs, not strings).
    """
    return _first_of_class()[canonical(cell)]


def nb201_unique_str(cell: Cell) -> str:
    """NAS-Bench-201's own rule for "unique" cells (``to_unique_str(consider_zero=True)`` in its
    code), for comparison: it writes a zero term as ``#`` inside the sum instead of dropping it,
    does not flatten sums or apply the pool term by term, and does not tell one conv used twice
    from two convs. It gives 6,466 classes (06_nas_search compares it with ``canonical``).
    """
    ops, node, k = to_ops(cell), {0: "0"}, 0
    for j in (1, 2, 3):
        terms = []
        for i in range(j):
            op = ops[k]
            k += 1
            if op == "none" or node[i] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(node[i])
            else:
                terms.append(f"({node[i]})@{op}")
        node[j] = "+".join(sorted(terms))
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
