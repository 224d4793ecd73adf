"""The NAS-Bench-201 cell space: encodings, canonical form, mutation (genlab.nas.space)."""
import collections
import random

import pytest
import torch

from genlab.nas import space
from genlab.nas.network import CellModule, build_network


def test_encodings_round_trip_for_every_cell():
    for i, ops in enumerate(space.all_cells()):
        assert space.index_to_ops(i) == ops
        assert space.ops_to_index(ops) == i
        assert space.str_to_ops(space.ops_to_str(ops)) == ops
    assert i + 1 == space.NUM_CELLS == 15_625


def test_arch_string_matches_nas_bench_201_format():
    ops = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3")
    assert space.ops_to_str(ops) == ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+"
                                     "|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
    # first edge is the most significant base-5 digit
    assert space.ops_to_index(("skip_connect",) + ("none",) * 5) == 5 ** 5


@pytest.mark.parametrize("bad, message", [
    (-1, r"a cell index is an int in \[0, 15625\)"), (15_625, r"a cell index is an int in \[0, 15625\)"),
    (2.0, "a cell is an index, an arch string or a sequence of 6 op names"), (True, "not a cell: True"),
    ("|none~0|", "an arch string has 3 '\\+'-separated nodes"), (("none",) * 5, "a cell has 6 edges, got 5 ops"),
    (("conv",) * 6, r"unknown op\(s\) \['conv'"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "expected 'none~1' in node 2, got 'none~2'")])
def test_bad_encodings_raise_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        space.to_ops(bad)


def test_canonical_classes():
    counts = collections.Counter(space.canonical(c) for c in space.all_cells())
    assert len(counts) == 5_216
    assert counts["#"] == 341            # node 3 never reached: all zero-output cells are one class
    # an edge into a zero node or a none edge changes nothing; sums commute
    a = ("nor_conv_3x3", "none", "none", "none", "skip_connect", "none")
    b = ("nor_conv_3x3", "avg_pool_3x3", "none", "none", "skip_connect", "none")  # node 2 unused
    assert space.canonical(a) == space.canonical(b) == "c3a(x)"
    # swapping the roles of nodes 1 and 2 (no edge between them) is the same function
    c = ("nor_conv_1x1", "avg_pool_3x3", "none", "none", "skip_connect", "skip_connect")
    d = ("avg_pool_3x3", "nor_conv_1x1", "none", "none", "skip_connect", "skip_connect")
    assert space.canonical(c) == space.canonical(d) == "c1a(x)+p(x)"
    assert space.canonical(a) != space.canonical(c)
    # one conv reached twice through skips is not two convs (cells 6381 and 7506)
    assert space.canonical(6381) == "2*c1a(x)" and space.canonical(7506) == "c1a(x)+c1b(x)"
    # sums are flat: x + c1(x) + c3(x) however the skips nest it (cells 3288 and 4016)
    assert space.canonical(3288) == space.canonical(4016) == "c1a(x)+c3b(x)+x"
    # the pool is linear: pool(x + c1(x)) = pool(x) + pool(c1(x))
    e = ("nor_conv_1x1", "skip_connect", "skip_connect", "none", "none", "avg_pool_3x3")
    f = ("nor_conv_1x1", "none", "none", "avg_pool_3x3", "avg_pool_3x3", "none")
    assert space.canonical(e) == space.canonical(f) == "p(c1a(x))+p(x)"
    # NAS-Bench-201's own rule, for the comparison 06 makes
    assert len({space.nb201_unique_str(c) for c in space.all_cells()}) == 6_466


def test_live_ops_drop_only_dead_edges():
    for ops in space.all_cells():
        live = space.live_ops(ops)
        assert space.canonical(live) == space.canonical(ops)
        assert set(space.conv_labels(ops)) == {k for k, op in enumerate(live) if op.startswith("nor_conv")}
    assert space.live_ops(("nor_conv_3x3", "avg_pool_3x3", "none", "none", "skip_connect", "none")) == \
        ("nor_conv_3x3", "none", "none", "none", "skip_connect", "none")


def _cell_with_label_weights(ops, bank):
    """A 3-channel CellModule whose conv on edge k has the weights of its canonical label."""
    module = CellModule(ops, 3)
    for k, label in space.conv_labels(ops).items():
        module.edges[k][1].weight.data.copy_(bank[ops[k], label])
    return module


def _neighbour_pairs(rng, same: bool, n: int):
    """n pairs of cells with one conv or more, one mutation apart, in the same class or not."""
    by_class = collections.defaultdict(list)
    for c in space.all_cells():
        by_class[space.canonical(c)].append(c)
    pairs = []
    while len(pairs) < n:
        a = space.random_cell(rng)
        if not space.conv_labels(a):
            continue
        if same:
            members = by_class[space.canonical(a)]
            b = rng.choice(members)
            if b != a:
                pairs.append((a, b))
        else:
            b = space.mutate(a, rng)
            if space.canonical(b) != space.canonical(a) and space.conv_labels(b):
                pairs.append((a, b))
    return pairs


@pytest.mark.parametrize("same", [True, False], ids=["same-class", "different-class"])
def test_canonical_is_exactly_functional_equivalence(same):
    """Same string: equal outputs once conv weights are matched by label; different: they differ.

    Every conv gets the weights of its label in a shared bank, so two cells of one class compute
    the same numbers (batch norm in training mode: batch statistics), and two cells of different
    classes — one mutation apart, the hardest case — differ even though their shared labels
    share weights. Pairs with convs only: weight-free cells are the easy case.
    """
    rng, g = random.Random(1 if same else 2), torch.Generator().manual_seed(0)
    bank = {(op, label): torch.randn(3, 3, k, k, generator=g)
            for op, k in (("nor_conv_1x1", 1), ("nor_conv_3x3", 3)) for label in "abcdef"}
    x = torch.randn(16, 3, 8, 8, generator=g)
    for a, b in _neighbour_pairs(rng, same, 60):
        out_a, out_b = (_cell_with_label_weights(c, bank)(x) for c in (a, b))
        gap = (out_a - out_b).abs().max().item()
        if same:
            assert gap <= 1e-5 * (1 + out_a.abs().max().item()), \
                f"{space.short(a)} and {space.short(b)} share {space.canonical(a)} but differ by {gap:.2e}"
        else:
            assert gap > 1e-3, f"{space.canonical(a)} vs {space.canonical(b)}: outputs differ by only {gap:.2e}"


def test_zero_class_really_outputs_zero_and_weight_free_isomorphs_agree():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    for ops in [("nor_conv_3x3",) * 3 + ("none",) * 3, ("none", "skip_connect", "avg_pool_3x3", "none", "none", "none")]:
        assert space.canonical(ops) == "#"
        assert CellModule(ops, 3)(x).abs().max() == 0
    # weight-free cells (skip/pool only) in one class compute exactly the same function
    rng = random.Random(0)
    free = [c for c in space.all_cells() if set(c) <= {"none", "skip_connect", "avg_pool_3x3"}]
    by_class = collections.defaultdict(list)
    for c in free:
        by_class[space.canonical(c)].append(c)
    pairs = [v for v in by_class.values() if len(v) > 1]
    for members in rng.sample(pairs, 20):
        out = [CellModule(c, 3)(x) for c in members[:3]]
        for o in out[1:]:
            torch.testing.assert_close(o, out[0], atol=1e-5, rtol=1e-5)


def test_mutate_changes_exactly_one_edge():
    rng = random.Random(0)
    cell = space.random_cell(rng)
    for _ in range(200):
        child = space.mutate(cell, rng)
        assert sum(a != b for a, b in zip(cell, child)) == 1
        cell = child


def test_one_hot_and_network_shapes():
    v = space.one_hot(0)
    assert len(v) == 30 and sum(v) == 6
    net = build_network(1234)
    assert net(torch.zeros(5, 64)).shape == (5, 10)
    with pytest.raises(ValueError, match="channels must be a positive int"):
        build_network(0, channels=0)


def test_short_writes_a_cell_in_edge_order_for_tables():
    cell = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none")
    assert space.short(cell) == "   · skip   c1   c3 pool    ·"
    assert space.short(space.ops_to_index(cell)) == space.short(space.ops_to_str(cell)) == space.short(cell)
