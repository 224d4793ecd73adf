"""Unit tests for genlab.generative.diffusion (the references behind 04_diffusion)."""
import math

import pytest
import torch

from genlab.runtime import one_thread

from genlab.generative.diffusion import (EMA, Denoiser, DenoiserConfig, cosine_schedule, ddim_sample, ddpm_loss,
                                         ddpm_reverse_step, ddpm_sample, drop_labels, euler_sample,
                                         flow_matching_loss, flow_matching_target, guided_prediction,
                                         linear_schedule, make_toy_2d, posterior_variance, q_sample, train_denoiser)


@pytest.mark.parametrize("schedule", [cosine_schedule, linear_schedule])
def test_schedule_properties(schedule):
    betas, ab = schedule(1000)
    assert betas.shape == ab.shape == (1000,)
    assert (betas > 0).all() and (betas < 1).all()
    assert (ab[1:] < ab[:-1]).all(), "alphas_cumprod must decrease"
    assert ab[0] < 1 and ab[-1] < 1e-3
    assert torch.allclose(torch.cumprod(1 - betas.double(), 0).float(), ab, rtol=1e-5, atol=1e-7)


def test_cosine_schedule_matches_formula_with_zero_based_steps():
    T, s = 100, 0.008
    _, ab = cosine_schedule(T, s)
    f = lambda u: math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 1, 50, 90):
        assert ab[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-5)


def test_schedule_errors():
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError):
            cosine_schedule(bad)
    with pytest.raises(ValueError):
        linear_schedule(10, 0.1, 0.01)


def test_q_sample_marginal_mean_and_variance():
    _, ab = cosine_schedule(1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000, 1), 0.7)
    for t in (10, 500, 900):
        xt = q_sample(x0, torch.full((len(x0),), t), torch.randn(x0.shape, generator=g), ab)
        assert xt.mean().item() == pytest.approx(math.sqrt(ab[t]) * 0.7, abs=0.01)
        assert xt.var().item() == pytest.approx(1 - ab[t].item(), abs=0.01)
    # data of unit variance stays at unit variance (variance preserving)
    x0 = torch.randn(200_000, 1, generator=g)
    xt = q_sample(x0, torch.full((len(x0),), 300), torch.randn(x0.shape, generator=g), ab)
    assert xt.var().item() == pytest.approx(1.0, abs=0.02)


def test_q_sample_errors():
    _, ab = cosine_schedule(10)
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError):
        q_sample(x, torch.tensor([0, 1, 10]), x, ab)          # t out of range
    with pytest.raises(ValueError):
        q_sample(x, torch.tensor([0.5, 1.0, 2.0]), x, ab)     # float timesteps
    with pytest.raises(ValueError):
        q_sample(x, torch.tensor([0, 1]), x, ab)              # wrong count
    with pytest.raises(ValueError):
        q_sample(x, torch.tensor([0, 1, 2]), torch.zeros(3, 3), ab)


def test_posterior_variance():
    betas, ab = cosine_schedule(1000)
    pv = posterior_variance(betas, ab)
    assert pv[0] == 0
    assert (pv[1:] > 0).all() and (pv <= betas + 1e-7).all()
    t = 5
    assert pv[t].item() == pytest.approx(((1 - ab[t - 1]) / (1 - ab[t]) * betas[t]).item(), rel=1e-6)


def test_ddpm_loss_is_mse_to_the_noise():
    _, ab = cosine_schedule(50)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    t = torch.randint(50, (8,), generator=g)
    zero = lambda x, t, y: torch.zeros_like(x)  # noqa: E731
    assert ddpm_loss(zero, x0, t, noise, ab).item() == pytest.approx(noise.pow(2).mean().item(), rel=1e-6)
    ident = lambda x, t, y: x  # noqa: E731
    expected = (q_sample(x0, t, noise, ab) - noise).pow(2).mean()
    assert ddpm_loss(ident, x0, t, noise, ab).item() == pytest.approx(expected.item(), rel=1e-6)


def test_reverse_step_shape_determinism_and_last_step():
    betas, ab = cosine_schedule(100)
    g = torch.Generator().manual_seed(0)
    x, eps, z = (torch.randn(5, 3, generator=g) for _ in range(3))
    a = ddpm_reverse_step(x, 40, eps, betas, ab, z)
    assert a.shape == x.shape and torch.equal(a, ddpm_reverse_step(x, 40, eps, betas, ab, z))
    # posterior variance, not beta
    mean = ddpm_reverse_step(x, 40, eps, betas, ab, torch.zeros_like(z))
    assert torch.allclose(a - mean, posterior_variance(betas, ab)[40].sqrt() * z, atol=1e-6)
    # the last step adds no noise and returns the clean estimate x0_hat
    last = ddpm_reverse_step(x, 0, eps, betas, ab, z)
    x0_hat = (x - (1 - ab[0]).sqrt() * eps) / ab[0].sqrt()
    assert torch.allclose(last, x0_hat, atol=1e-5)


def test_reverse_step_inverts_forward_with_true_noise():
    # With the true noise as eps, the posterior mean equals the mean of q(x_{t-1} | x_t, x0).
    betas, ab = cosine_schedule(200)
    g = torch.Generator().manual_seed(1)
    x0, noise = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g)
    t = 120
    xt = q_sample(x0, torch.tensor(t), noise, ab)
    got = ddpm_reverse_step(xt, t, noise, betas, ab, torch.zeros_like(x0))
    c0 = ab[t - 1].sqrt() * betas[t] / (1 - ab[t])
    ct = (1 - betas[t]).sqrt() * (1 - ab[t - 1]) / (1 - ab[t])
    assert torch.allclose(got, c0 * x0 + ct * xt, atol=1e-5)


def test_reverse_step_errors():
    betas, ab = cosine_schedule(10)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError):
        ddpm_reverse_step(x, 10, x, betas, ab, x)
    with pytest.raises(ValueError):
        ddpm_reverse_step(x, 3, torch.zeros(2, 3), betas, ab, x)


def test_flow_matching_target():
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    xt, v = flow_matching_target(x0, x1, t)
    assert torch.allclose(v, x1 - x0)
    assert torch.allclose(xt[0], x0[0]) and torch.allclose(xt[-1], x1[-1])
    h = 1e-3
    xt2, _ = flow_matching_target(x0, x1, t.clamp(max=1 - h) + h)
    assert torch.allclose((xt2 - flow_matching_target(x0, x1, t.clamp(max=1 - h))[0]) / h, v, atol=1e-2)
    with pytest.raises(ValueError):
        flow_matching_target(x0, x1, torch.tensor([0.0, 0.5, 1.5, 0.1]))
    with pytest.raises(ValueError):
        flow_matching_target(x0, x1[:2], t)


def test_guidance_formula():
    cond, uncond = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 3.0])
    assert torch.equal(guided_prediction(cond, uncond, 0.0), cond)
    assert torch.allclose(guided_prediction(cond, uncond, 2.0), torch.tensor([3.0, 0.0]))
    # equivalent form uncond + s (cond - uncond) with s = 1 + w
    assert torch.allclose(guided_prediction(cond, uncond, 1.5), uncond + 2.5 * (cond - uncond))
    with pytest.raises(ValueError):
        guided_prediction(cond, uncond, -1.0)
    with pytest.raises(ValueError):
        guided_prediction(cond, uncond[:1], 1.0)


def test_drop_labels():
    y = torch.arange(10).repeat(1000)
    g = torch.Generator().manual_seed(0)
    dropped = drop_labels(y, 0.2, 10, g)
    share = (dropped == 10).float().mean().item()
    assert share == pytest.approx(0.2, abs=0.02)
    assert torch.equal(dropped[dropped != 10], y[dropped != 10])
    assert torch.equal(drop_labels(y, 0.0, 10), y)
    with pytest.raises(ValueError):
        drop_labels(y, 1.5, 10)


def test_denoiser_shapes_and_errors():
    model = Denoiser(DenoiserConfig(dim=64, width=32, depth=2, emb_dim=16, num_classes=10, time_scale=100))
    x = torch.randn(7, 64)
    assert model(x, torch.randint(100, (7,)), torch.randint(11, (7,))).shape == (7, 64)
    assert model(x, torch.tensor(3), None).shape == (7, 64)   # no label: the null label
    with pytest.raises(ValueError):
        model(torch.randn(7, 8, 8), torch.zeros(7))


def test_samplers_shapes_and_seeded_determinism():
    betas, ab = cosine_schedule(20)
    model = Denoiser(DenoiserConfig(dim=2, width=16, depth=1, emb_dim=8, num_classes=3, time_scale=20)).eval()
    y = torch.tensor([0, 1, 2, 0])
    a = ddpm_sample(model, (4, 2), betas, ab, y=y, w=1.0, null_label=3, generator=torch.Generator().manual_seed(0))
    b = ddpm_sample(model, (4, 2), betas, ab, y=y, w=1.0, null_label=3, generator=torch.Generator().manual_seed(0))
    assert a.shape == (4, 2) and torch.equal(a, b)
    x, snaps = ddpm_sample(model, (4, 2), betas, ab, keep=5, generator=torch.Generator().manual_seed(0))
    assert snaps[-1][0] == 0 and torch.equal(snaps[-1][1], x)
    assert ddim_sample(model, (4, 2), ab, 5, y=y).shape == (4, 2)
    fm = Denoiser(DenoiserConfig(dim=2, width=16, depth=1, emb_dim=8)).eval()
    x, snaps = euler_sample(fm, (4, 2), 10, keep=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 2) and snaps[0][0] == 0.0 and snaps[-1][0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ddim_sample(model, (4, 2), ab, 0)
    with pytest.raises(ValueError):
        euler_sample(fm, (4, 2), 0)
    with pytest.raises(ValueError):
        ddpm_sample(model, (4, 2), betas, ab, y=y, w=1.0)      # guidance without a null label


def test_euler_sampler_follows_a_known_velocity():
    # v(x, t) = c moves every point by c over [0, 1], whatever the number of steps.
    c = torch.tensor([1.0, -2.0])
    v = lambda x, t, y: c.expand_as(x)  # noqa: E731
    g = torch.Generator().manual_seed(0)
    start = torch.randn((3, 2), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(euler_sample(v, (3, 2), 7, generator=g), start + c, atol=1e-5)


def test_training_reduces_the_loss_on_a_toy():
    g = torch.Generator().manual_seed(0)
    X = make_toy_2d(512, "moons", g)
    model = Denoiser(DenoiserConfig(dim=2, width=64, depth=2, emb_dim=32))

    def loss_fn(m, xb, yb):
        return flow_matching_loss(m, xb, torch.rand(len(xb), generator=g), torch.randn(xb.shape, generator=g))

    with one_thread():  # tiny matrices: a second thread only adds contention
        ema, hist = train_denoiser(model, loss_fn, X, max_steps=100, batch_size=128, log_every=25, ema_decay=0.9)
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert isinstance(ema, EMA) and ema.model is not model


def test_toy_data():
    for kind in ("moons", "ring"):
        pts = make_toy_2d(1000, kind, torch.Generator().manual_seed(0))
        assert pts.shape == (1000, 2) and pts.abs().max() < 3
    with pytest.raises(ValueError):
        make_toy_2d(10, "spiral")
