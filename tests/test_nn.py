"""Unit tests for genlab.nn (01_foundations): fan-in initialisation and batch norm."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.nn import activation_rms, batch_norm_forward, deep_relu_mlp, fan_in, init_std, init_weight_


@pytest.mark.parametrize("shape", [(16, 5), (4, 7, 3), (3, 2, 5, 5)])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_batch_norm_matches_torch(shape, eps):
    g = torch.Generator().manual_seed(0)
    x = 3 + 2 * torch.randn(shape, generator=g)
    gamma, beta = torch.randn(shape[1], generator=g), torch.randn(shape[1], generator=g)
    want = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    torch.testing.assert_close(batch_norm_forward(x, gamma, beta, eps), want, atol=1e-5, rtol=1e-5)


def test_batch_norm_matches_nn_module_and_normalises():
    x = 5 + 3 * torch.randn(64, 8, generator=torch.Generator().manual_seed(1))
    bn = torch.nn.BatchNorm1d(8).train()
    torch.testing.assert_close(batch_norm_forward(x, bn.weight.detach(), bn.bias.detach()), bn(x).detach())
    out = batch_norm_forward(x, torch.ones(8), torch.zeros(8))
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(0, unbiased=False), 1, atol=1e-3)


def test_batch_norm_bad_args():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match=r"x must be \(N, C\) or \(N, C, ...\), got shape \(5,\)"):
        batch_norm_forward(torch.randn(5), torch.ones(5), torch.zeros(5))
    with pytest.raises(ValueError, match=r"gamma and beta must have shape \(3,\)"):
        batch_norm_forward(x, torch.ones(4), torch.zeros(3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm_forward(torch.randn(1, 3), torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        batch_norm_forward(x, torch.ones(3), torch.zeros(3), eps=-1.0)


def test_init_std_uses_fan_in():
    assert fan_in((100, 400)) == 400 and fan_in((64, 3, 3, 3)) == 27
    assert init_std((100, 400), "normal") == 1.0
    assert init_std((100, 400), "lecun") == pytest.approx(1 / 20)
    assert init_std((100, 400), "he") == pytest.approx(math.sqrt(2 / 400))
    assert init_std((64, 3, 3, 3), "he") == pytest.approx(math.sqrt(2 / 27))
    # agrees with torch's kaiming_normal_ (fan_in mode, ReLU gain √2)
    w = torch.empty(300, 500)
    torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    assert w.std().item() == pytest.approx(init_std(w.shape, "he"), rel=0.01)


@pytest.mark.parametrize("args, message", [
    (((10, 10), "xavier"), "scheme must be one of .*got 'xavier'"),
    (((10,), "he"), r"needs >= 2 positive dims .*got \(10,\)"),
    (((0, 10), "he"), r"needs >= 2 positive dims .*got \(0, 10\)"),
])
def test_init_std_bad_args(args, message):
    with pytest.raises(ValueError, match=message):
        init_std(*args)


def test_init_weight_and_deep_mlp():
    w = init_weight_(torch.empty(200, 800), "lecun", torch.Generator().manual_seed(0))
    assert w.std().item() == pytest.approx(1 / math.sqrt(800), rel=0.01)
    net = deep_relu_mlp(depth=3, width=32, scheme="he", batchnorm=True)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 3
    with pytest.raises(ValueError, match="depth and width must be >= 1, got 0"):
        deep_relu_mlp(depth=0)


def test_deep_mlp_module_equals_the_functional_loop():
    """nn.Linear + nn.BatchNorm1d + ReLU (the module) = x @ W.T, batch_norm_forward, relu (the loop)."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(128, 64, generator=g, dtype=torch.float64)
    net = deep_relu_mlp(depth=4, width=64, scheme="he", batchnorm=True, generator=g).double().train()
    with torch.no_grad():
        out = net(x)
        h = x
        for linear in [m for m in net if isinstance(m, torch.nn.Linear)]:
            h = torch.relu(batch_norm_forward(h @ linear.weight.T, torch.ones(64, dtype=torch.float64),
                                              torch.zeros(64, dtype=torch.float64)))
    torch.testing.assert_close(h, out)
    assert out.pow(2).mean().sqrt().item() == pytest.approx(math.sqrt(0.5), abs=0.05)  # E[relu(z)²] = ½


def test_activation_rms_targets_at_depth_50():
    he = activation_rms("he", depth=50, width=256, batch_size=256, num_nets=4)
    normal = activation_rms("normal", depth=10, width=256, batch_size=256)
    lecun = activation_rms("lecun", depth=50, width=256, batch_size=256)
    bn = activation_rms("normal", depth=50, width=256, batch_size=256, batchnorm=True)
    assert 0.5 <= he[-1] <= 2.0, he[-1]
    assert normal[9] > 1e6, normal[9]
    assert lecun[-1] < 1e-4, lecun[-1]
    assert 0.5 <= bn[-1] <= 1.0, bn[-1]
    with pytest.raises(ValueError, match="need depth >= 1.*got 0"):
        activation_rms("he", depth=0)
