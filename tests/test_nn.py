"""Unit tests for genlab.nn (01_foundations): fan-in initialisation, batch norm, the deep ReLU net."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.nn import (DeepReLUNet, activation_rms, batch_norm_forward, deep_relu_mlp, fan_in, init_std, init_weight_,
                       layer_grad_norms)


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


def test_deep_relu_net_structure_init_and_forward():
    """First layer in_features -> width, the rest width -> width, no biases; weights at init_std by fan-in."""
    net = DeepReLUNet(400, 100, 3, 10, "he", generator=torch.Generator().manual_seed(0))
    assert [tuple(layer.weight.shape) for layer in net.layers] == [(100, 400), (100, 100), (100, 100)]
    assert all(layer.bias is None for layer in net.layers) and net.gamma is None and net.beta is None
    assert net.layers[0].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.03)
    assert net(torch.randn(5, 400)).shape == (5, 10)
    bn = DeepReLUNet(6, 8, 4, 3, "lecun", batchnorm=True, generator=torch.Generator().manual_seed(1))
    assert sorted(bn.state_dict()) == ["beta", "gamma", "head.bias", "head.weight"] + [f"layers.{i}.weight" for i in range(4)]
    # the module equals the loop written out with F.batch_norm
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(2))
    h = x
    for i, layer in enumerate(bn.layers):
        h = torch.relu(F.batch_norm(h @ layer.weight.T, None, None, bn.gamma[i], bn.beta[i], training=True))
    torch.testing.assert_close(bn(x), bn.head(h))
    same = DeepReLUNet(6, 8, 4, 3, "lecun", batchnorm=True, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(bn.layers.parameters(), same.layers.parameters()))
    with pytest.raises(ValueError, match="depth must be a positive int"):
        DeepReLUNet(6, 8, 0, 3)
    with pytest.raises(ValueError, match="scheme must be one of"):
        DeepReLUNet(6, 8, 2, 3, "xavier")


def test_layer_grad_norms_matches_autograd_and_clears_old_gradients():
    g = torch.Generator().manual_seed(3)
    net = DeepReLUNet(5, 7, 6, 4, "he", generator=g)
    X, y = torch.randn(12, 5, generator=g), torch.randint(0, 4, (12,), generator=g)
    norms = layer_grad_norms(net, X, y)
    grads = torch.autograd.grad(F.cross_entropy(net(X), y), [layer.weight for layer in net.layers])
    torch.testing.assert_close(norms, torch.stack([gr.norm() for gr in grads]))
    assert norms.shape == (6,) and not norms.requires_grad
    torch.testing.assert_close(layer_grad_norms(net, X, y), norms)          # zero_grad first: no accumulation
    assert net.layers[0].weight.grad is not None                              # left for an optimiser step


def test_depth_50_gradients_he_flat_lecun_vanishing_batchnorm_exploding():
    """At init: He's per-layer gradient norms stay within a factor 10 of each other, LeCun's are
    ~1e-8, and batch norm's grow by orders of magnitude towards the input (Yang et al. 2019)."""
    X = torch.rand(64, 64, generator=torch.Generator().manual_seed(4))
    y = torch.arange(64) % 10
    norms = {}
    for name, scheme, bn in (("he", "he", False), ("lecun", "lecun", False), ("bn", "he", True)):
        torch.manual_seed(0)
        net = DeepReLUNet(64, 128, 50, 10, scheme, bn, generator=torch.Generator().manual_seed(0))
        norms[name] = layer_grad_norms(net, X, y)
    assert norms["he"].max() / norms["he"].min() < 10
    assert norms["lecun"].max() < 1e-6
    assert norms["bn"][0] / norms["bn"][-1] > 100
