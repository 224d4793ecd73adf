"""DigitsBench-201 (genlab.nas.benchmark): the shipped table, its look-up API, and that it
reproduces: cells re-trained now match the stored numbers within the measured seed noise."""
import json
import random

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import genlab
from genlab.nas import benchmark, generate, space
from genlab.nas.network import build_network


@pytest.fixture(scope="module")
def bench():
    return benchmark.load_benchmark()


def test_table_records_its_schedule_seed_and_versions(bench):
    h = bench.header
    assert h["benchmark"] == "DigitsBench-201" and h["seed"] == 0 and h["subset"] is None
    assert h["schedule"] == benchmark.SCHEDULE
    assert h["genlab"] and h["torch"]
    noise_header, noise = benchmark.read_table(benchmark.NOISE_TABLE)
    assert noise_header["seed"] == 1 and noise_header["schedule"] == benchmark.SCHEDULE
    assert len(noise) == noise_header["subset"] >= 200


def test_one_lookup_api_for_every_encoding(bench):
    assert len(bench) == 15_625 and bench.num_unique == 5_216
    assert len(bench.unique_indices()) == 5_216
    rng = random.Random(0)
    for i in rng.sample(range(space.NUM_CELLS), 50):
        ops = space.index_to_ops(i)
        r = bench.query(i)
        assert r == bench.query(ops) == bench.query(space.ops_to_str(ops))
        assert bench.val_acc[i] == r.val_acc and bench.test_acc[i] == r.test_acc
    # every cell gets the record of a cell that computes its function (the record's own cell)
    for ops in space.all_cells():
        assert space.canonical(bench.query(ops).arch_str) == space.canonical(ops)
    assert bench.query(6381).params < bench.query(7506).params   # one conv vs two (were one record)
    with pytest.raises(ValueError, match=r"unknown op\(s\) \['conv'\]"):
        bench.query("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_params_and_flops_are_those_of_the_cells_live_network(bench):
    """A record counts the edges that reach the output, the same for every member of a class;
    a cell's dead edges (space.live_ops) carry parameters that never receive a gradient."""
    from torch.utils.flop_counter import FlopCounterMode

    from genlab.nn import count_parameters
    x = torch.randn(2, 64)
    for i in random.Random(1).sample(range(space.NUM_CELLS), 25) + [6381, 7506]:
        r = bench.query(i)
        live = build_network(space.live_ops(i))
        with FlopCounterMode(display=False) as counter:
            live.eval()(x[:1])
        assert (r.params, r.flops) == (count_parameters(live), counter.get_total_flops()), space.short(i)
        if space.canonical(i) != "#":       # parameters the output depends on: a non-zero gradient
            net = build_network(i)
            net(x).square().sum().backward()
            assert r.params == sum(p.numel() for p in net.parameters() if p.grad is not None and p.grad.any())


def test_the_skeleton_leaves_the_spatial_work_to_the_cell(bench):
    """Why our reduction has no 3×3 conv (network.Reduction): with NAS-Bench-201's residual
    block, the identity cell alone would score near the top of the table."""
    from genlab.nas.network import ResidualReduction
    identity = ("none", "none", "none", "skip_connect", "none", "none")
    ours = bench.query(identity).test_acc
    theirs = benchmark.train_cell(identity, seed=0, reduction=ResidualReduction).test_acc
    print(f"identity cell: our reduction {ours:.3f}, NAS-Bench-201's residual block {theirs:.3f}")
    assert ours < 0.6 and theirs > 0.95


def test_accuracies_span_the_space(bench):
    assert bench.query(0).val_acc < 0.2                   # the cell whose output is always zero
    assert bench.best_val >= 0.97 and bench.best_test >= 0.97
    convs = bench.query(("nor_conv_3x3",) * 6).val_acc
    skips = bench.query(("skip_connect",) * 6).val_acc
    assert convs > skips + 0.2                            # the cell, not the skeleton, does the work
    assert 0 <= bench.rank_percentile(int(np.argmax(bench.test_acc))) <= 1


def test_noise_ceiling_between_seeds(bench):
    a, b = bench.seed_pairs()
    rho = spearmanr(a, b)[0]
    print(f"seed 0 vs seed 1 on {len(a)} cells: Spearman {rho:.3f}, mean |Δ| {np.abs(a - b).mean():.4f}")
    assert 0.5 < rho < 1.0       # a real signal, and not a copy of the seed-0 table


def test_random_cells_reproduce_within_seed_noise(bench):
    """Re-train a random sample of the table's cells (seed 0, one thread) and compare.

    The tolerance is the 95th percentile of |val(seed 0) − val(seed 1)| on the noise subset:
    a re-run on another machine may differ in float rounding, never by more than a new seed.
    """
    a, b = bench.seed_pairs()
    tol = max(float(np.quantile(np.abs(a - b), 0.95)), 1 / 270)
    cells = random.Random(2026).sample(list(bench.unique_indices()), 6)
    for i in cells:                      # on one thread, as generate's workers (the fixture above)
        new, old = benchmark.train_cell(int(i), seed=0), bench.query(int(i))
        print(f"{old.arch_str}: val {old.val_acc:.4f} -> {new.val_acc:.4f}, test {old.test_acc:.4f} -> {new.test_acc:.4f}")
        assert abs(new.val_acc - old.val_acc) <= tol and abs(new.test_acc - old.test_acc) <= tol + 1 / 360
        assert (new.params, new.flops) == (old.params, old.flops)


def test_generation_is_resumable_and_refuses_another_schedule(tmp_path, monkeypatch):
    out = tmp_path / "t.jsonl"
    generate.main(["--out", str(out), "--limit", "1", "--subset", "5", "--seed", "3"])
    generate.main(["--out", str(out), "--limit", "1", "--subset", "5", "--seed", "3"])
    header, records = benchmark.read_table(out)
    assert header["seed"] == 3 and header["genlab"] == genlab.__version__ and header["torch"] == torch.__version__
    assert len(records) == 2 and records[0].arch_str != records[1].arch_str
    with pytest.raises(SystemExit, match="made with another seed/schedule/subset"):
        generate.main(["--out", str(out), "--limit", "1", "--subset", "5", "--seed", "4"])
    assert len(out.read_text().splitlines()) == 3
    with pytest.raises(ValueError, match="incomplete"):
        benchmark.DigitsBench201(out, None)
    json.loads(out.read_text().splitlines()[0])


def test_a_restart_rekeys_a_table_with_two_records_of_one_function(tmp_path):
    """After the canonical form changed, one class can hold two old records: the loader refuses
    the table, and a restart of the generator keeps the lower-index cell's record only."""
    out = tmp_path / "t.jsonl"
    generate.main(["--out", str(out), "--limit", "0", "--subset", "5", "--seed", "3"])   # header only
    rec = {"val_acc": 0.5, "test_acc": 0.5, "params": 1, "flops": 1, "seconds": 0.1}
    with open(out, "a") as f:          # cells 4016 and 3288 both compute x + c1(x) + c3(x)
        for i in (4016, 3288):
            f.write(json.dumps({"arch_str": space.ops_to_str(space.index_to_ops(i)), **rec}) + "\n")
    with pytest.raises(ValueError, match="two records of one function"):
        benchmark.DigitsBench201(out, None)
    generate.main(["--out", str(out), "--limit", "0", "--subset", "5", "--seed", "3"])
    header, records = benchmark.read_table(out)
    assert header["seed"] == 3 and [r.arch_str for r in records] == [space.ops_to_str(space.index_to_ops(3288))]
