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
    assert len(counts) == 5_390
    assert counts["#"] == 341            # node 3 never reached: all zero-output cells are one class
    # an edge into a zero node or a none edge changes nothing; sums commute
    a = ("nor_conv_3x3", "none", "none", "none", "skip_connect", "none")
    b = ("nor_conv_3x3", "avg_pool_3x3", "none", "none", "skip_connect", "none")  # node 2 unused
    assert space.canonical(a) == space.canonical(b) == "(x)@nor_conv_3x3"
    # swapping the roles of nodes 1 and 2 (no edge between them) is the same function
    c = ("nor_conv_1x1", "avg_pool_3x3", "none", "none", "skip_connect", "skip_connect")
    d = ("avg_pool_3x3", "nor_conv_1x1", "none", "none", "skip_connect", "skip_connect")
    assert space.canonical(c) == space.canonical(d)
    assert space.canonical(a) != space.canonical(c)


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
            torch.testing.assert_close(o, out[0], atol=1e-6, rtol=1e-6)


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
