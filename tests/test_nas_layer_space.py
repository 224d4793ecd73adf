"""Unit tests for genlab.nas.layer_space: plain CNNs as layer sequences, validity (08_netformer)."""
import random

import numpy as np
import pytest
import torch

from genlab.nas import layer_space as ls
from genlab.nn import count_parameters


def test_parse_layer():
    assert ls.parse_layer("conv3-16") == ("conv", 3, 16)
    assert ls.parse_layer("pool") == ("pool", 2, None)
    for bad in ("conv3", "conv0-8", "relu", 3):
        with pytest.raises(ValueError, match="unknown layer"):
            ls.parse_layer(bad)


def test_layer_space_shapes_depth_and_params():
    s = ls.LayerSpace()
    assert s.trace(["conv3-8", "pool", "conv3-16"]) == [(8, 6, 80), (8, 3, 0), (16, 1, 1168)]
    assert s.count_parameters(["conv3-8", "pool", "conv3-16"]) == 80 + 1168 + 16 * 10 + 10
    assert s.is_valid(["conv3-8", "pool", "conv3-16"])
    assert s.violations(["conv3-8", "pool", "conv5-16"]) == ["layer 3 (conv5-16) needs a larger input than 3×3"]
    assert s.violations(["conv5-8", "conv5-8"]) == ["layer 2 (conv5-8) needs a larger input than 4×4"]


def test_layer_space_boundaries():
    s = ls.LayerSpace()
    assert s.is_valid(["conv5-8", "conv3-8", "conv1-8"])            # 8 → 4 → 2 → 2
    assert s.is_valid(["conv3-8", "pool", "conv3-8"])               # 8 → 6 → 3 → 1: a 3×3 conv fits 3×3
    assert s.is_valid(["pool", "pool", "pool"])                      # 8 → 4 → 2 → 1
    assert not s.is_valid(["pool", "pool", "pool", "pool"])          # 1×1 cannot be pooled
    assert s.violations(["conv3-8"]) == ["depth 1 outside [2, 8]"]
    assert s.violations(["conv1-8"] * 9) == ["depth 9 outside [2, 8]"]
    assert s.violations(["conv3-8", "relu"]) == ["unknown token(s) ['relu']"]
    assert s.violations(["conv3-8", "<pad>"]) == ["unknown token(s) ['<pad>']"]
    big = ["conv3-32"] * 3                                           # 320 + 2 * 9,248 + 330 = 19,146
    assert s.count_parameters(big) == 19146 and s.is_valid(big)
    assert ls.LayerSpace(max_params=19146).is_valid(big) and not ls.LayerSpace(max_params=19145).is_valid(big)
    over = ["conv3-32", "conv3-32", "conv1-32", "conv3-32"]           # 8 → 6 → 4 → 4 → 2
    assert s.violations(over) == ["20,202 parameters > 20,000"]
    assert s.count_parameters(["pool", "pool"]) == 20                      # no conv: the head sees 1 channel
    with pytest.raises(ValueError, match="does not fit a 8×8 input"):
        s.count_parameters(["pool"] * 4)
    with pytest.raises(ValueError, match="need 1 <= min_depth <= max_depth"):
        ls.LayerSpace(min_depth=3, max_depth=2)


def test_validity_agrees_with_pytorch():
    s = ls.LayerSpace()
    rng = random.Random(0)
    for _ in range(300):
        layers = s.random_sequence(rng)
        if s.is_valid(layers):
            net = s.build(layers)
            assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
            assert count_parameters(net) == s.count_parameters(layers)
        else:
            with pytest.raises(ValueError, match="invalid network"):
                s.build(layers)
            if len(s.trace(layers)) < len(layers):                  # a shape error: torch agrees
                c, mods = 1, []
                for t in layers:
                    kind, k, c_out = ls.parse_layer(t)
                    mods.append(torch.nn.MaxPool2d(2) if kind == "pool" else torch.nn.Conv2d(c, c_out, k))
                    c = c_out or c
                with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
                    torch.nn.Sequential(*mods)(torch.zeros(1, 1, 8, 8))


def test_random_generators():
    s = ls.LayerSpace()
    rng = random.Random(1)
    seqs = [s.random_sequence(rng) for _ in range(2000)]
    assert {len(q) for q in seqs} == set(range(2, 9))
    rate = np.mean([s.is_valid(q) for q in seqs])
    assert 0.15 < rate < 0.45                                          # validity is not automatic
    valid = [s.random_valid(rng) for _ in range(300)]
    assert all(s.is_valid(q) for q in valid) and len({len(q) for q in valid}) == 7
    ids = s.encode(valid[:5])
    assert ids.shape == (5, 10) and s.decode(ids) == valid[:5]
    with pytest.raises(ValueError, match="no valid sequence of depth 2 in 50 tries"):
        ls.LayerSpace(max_params=1).random_valid(rng, max_tries=50)


def test_sample_quality():
    s = ls.LayerSpace()
    a, b, c = ("conv3-8", "pool"), ("conv1-8", "pool"), ("pool", "pool")
    bad = ("conv5-8", "conv5-8")
    q = ls.sample_quality([a, a, b, c, bad], train=[a], is_valid=s.is_valid)
    assert q == {"valid": 0.8, "unique": 0.75, "novel": pytest.approx(2 / 3)}
    assert ls.sample_quality([bad], [a], s.is_valid) == {"valid": 0.0, "unique": 0.0, "novel": 0.0}
    with pytest.raises(ValueError, match="need at least one sample"):
        ls.sample_quality([], [a], s.is_valid)


def test_train_on_digits_learns_and_is_seeded():
    from genlab.data.digits import load_digits
    data = load_digits(flatten=False)
    s = ls.LayerSpace()
    good = ("conv5-16", "conv3-32")
    acc = s.train_on_digits(good, data, num_epochs=3, seed=0)
    assert acc > 0.5                                        # chance is 0.1
    assert s.train_on_digits(good, data, num_epochs=3, seed=0) == acc
    with pytest.raises(ValueError, match="invalid network"):
        s.train_on_digits(("conv5-8", "conv5-8"), data)
