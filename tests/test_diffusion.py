"""Unit tests for genlab.generative.diffusion (the references behind 04_diffusion)."""
import math

import pytest
import torch

from genlab.generative import diffusion
from genlab.generative.diffusion import (EMA, Denoiser, DenoiserConfig, cosine_schedule, ddim_sample, ddpm_loss,
                                         ddpm_reverse_step, ddpm_sample, drop_labels, euler_sample,
                                         flow_matching_loss, flow_matching_target, guided_prediction,
                                         linear_schedule, make_toy_2d, posterior_variance, q_sample, train_denoiser)
from genlab.train import warmup_cosine


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
        with pytest.raises(ValueError, match=f"T must be a positive int, got {bad}"):
            cosine_schedule(bad)
    with pytest.raises(ValueError, match="need 0 < beta_start <= beta_end < 1, got 0.1, 0.01"):
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
    with pytest.raises(ValueError, match=r"timesteps must lie in 0\.\.9, got range 0\.\.10"):
        q_sample(x, torch.tensor([0, 1, 10]), x, ab)          # t out of range
    with pytest.raises(ValueError, match="DDPM timesteps are integers"):
        q_sample(x, torch.tensor([0.5, 1.0, 2.0]), x, ab)     # float timesteps
    with pytest.raises(ValueError, match=r"need one timestep per row: shape \(3,\) or a scalar, got \(2,\)"):
        q_sample(x, torch.tensor([0, 1]), x, ab)              # wrong count
    with pytest.raises(ValueError, match="x0 and noise must have the same shape"):
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
    with pytest.raises(ValueError, match=r"t must be an int in 0\.\.9, got 10"):
        ddpm_reverse_step(x, 10, x, betas, ab, x)
    with pytest.raises(ValueError, match="x_t, eps and noise must have one shape"):
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
    with pytest.raises(ValueError, match=r"flow-matching times must lie in \[0, 1\]"):
        flow_matching_target(x0, x1, torch.tensor([0.0, 0.5, 1.5, 0.1]))
    with pytest.raises(ValueError, match="x0 and x1 must have the same shape"):
        flow_matching_target(x0, x1[:2], t)


def test_guidance_formula():
    cond, uncond = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 3.0])
    assert torch.equal(guided_prediction(cond, uncond, 0.0), cond)
    assert torch.allclose(guided_prediction(cond, uncond, 2.0), torch.tensor([3.0, 0.0]))
    # equivalent form uncond + s (cond - uncond) with s = 1 + w
    assert torch.allclose(guided_prediction(cond, uncond, 1.5), uncond + 2.5 * (cond - uncond))
    with pytest.raises(ValueError, match="the guidance scale w must be >= 0, got -1.0"):
        guided_prediction(cond, uncond, -1.0)
    with pytest.raises(ValueError, match="cond and uncond must have one shape"):
        guided_prediction(cond, uncond[:1], 1.0)


def test_drop_labels():
    y = torch.arange(10).repeat(1000)
    g = torch.Generator().manual_seed(0)
    dropped = drop_labels(y, 0.2, 10, g)
    share = (dropped == 10).float().mean().item()
    assert share == pytest.approx(0.2, abs=0.02)
    assert torch.equal(dropped[dropped != 10], y[dropped != 10])
    assert torch.equal(drop_labels(y, 0.0, 10), y)
    with pytest.raises(ValueError, match=r"label-dropout probability must lie in \[0, 1\], got 1.5"):
        drop_labels(y, 1.5, 10)


def test_denoiser_shapes_and_errors():
    model = Denoiser(DenoiserConfig(dim=64, width=32, depth=2, emb_dim=16, num_classes=10, time_scale=100))
    x = torch.randn(7, 64)
    assert model(x, torch.randint(100, (7,)), torch.randint(11, (7,))).shape == (7, 64)
    assert model(x, torch.tensor(3), None).shape == (7, 64)   # no label: the null label
    with pytest.raises(ValueError, match=r"Denoiser expects \(N, 64\) inputs, got \(7, 8, 8\)"):
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
    with pytest.raises(ValueError, match=r"num_steps must be an int in 1\.\.20, got 0"):
        ddim_sample(model, (4, 2), ab, 0)
    with pytest.raises(ValueError, match="num_steps must be a positive int, got 0"):
        euler_sample(fm, (4, 2), 0)
    with pytest.raises(ValueError, match="guidance .* needs null_label"):
        ddpm_sample(model, (4, 2), betas, ab, y=y, w=1.0)      # guidance without a null label


def test_euler_sampler_follows_a_known_velocity():
    # v(x, t) = c moves every point by c over [0, 1], whatever the number of steps.
    c = torch.tensor([1.0, -2.0])
    v = lambda x, t, y: c.expand_as(x)  # noqa: E731
    g = torch.Generator().manual_seed(0)
    start = torch.randn((3, 2), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(euler_sample(v, (3, 2), 7, generator=g), start + c, atol=1e-5)


def _toy_run(max_steps: int, seed: int = 0, **kwargs):
    """A small flow-matching run on the moons; the same seed gives the same run."""
    g = torch.Generator().manual_seed(seed)
    X = make_toy_2d(512, "moons", g)
    torch.manual_seed(seed)
    model = Denoiser(DenoiserConfig(dim=2, width=64, depth=2, emb_dim=32))

    def loss_fn(m, xb, yb):
        return flow_matching_loss(m, xb, torch.rand(len(xb), generator=g), torch.randn(xb.shape, generator=g))

    return model, *train_denoiser(model, loss_fn, X, max_steps=max_steps, batch_size=128, seed=seed, **kwargs)


def test_training_reduces_the_loss_on_a_toy():
    model, ema, hist = _toy_run(100, log_every=25, ema_decay=0.9)
    assert hist["step"] == [25, 50, 75, 100] and not hist.stopped_by_budget
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert isinstance(ema, EMA) and ema.model is not model


def test_train_denoiser_runs_fixed_steps_and_a_generous_guard_changes_nothing():
    _, plain, _ = _toy_run(30)
    _, guarded, hist = _toy_run(30, time_budget=600)
    assert hist.last("step") == 30 and not hist.stopped_by_budget
    for a, b in zip(plain.model.parameters(), guarded.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_train_denoiser_lr_follows_warmup_cosine_by_step(monkeypatch):
    seen = []
    real = diffusion.set_lr
    monkeypatch.setattr(diffusion, "set_lr", lambda opt, lr: (seen.append(lr), real(opt, lr)))
    _toy_run(40, lr=1e-3, warmup=0.1)
    assert seen == [1e-3 * warmup_cosine(s / 40, 0.1, min_ratio=0.0) for s in range(40)]
    assert seen[0] == 0.0 and max(seen) == pytest.approx(1e-3) and seen[-1] < 1e-5   # down to zero


def test_train_denoiser_guard_stops_warns_and_says_so():
    with pytest.warns(RuntimeWarning, match="denoiser training stopped by its 0 s time guard after 1 of 50"):
        _, _, hist = _toy_run(50, time_budget=1e-9)
    assert hist.stopped_by_budget and hist["step"] == [1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_steps=0), "need max_steps >= 1"),
    (dict(max_steps=10, batch_size=0), "batch_size >= 1"),
    (dict(max_steps=10, y=torch.zeros(3, dtype=torch.long)), "X has 8 rows but y has 3 labels"),
    (dict(max_steps=10, warmup=1.0), "need 0 <= warmup < 1"),
])
def test_train_denoiser_rejects_bad_arguments(kwargs, message):
    model = Denoiser(DenoiserConfig(dim=2, width=8, depth=1, emb_dim=8))
    loss_fn = lambda m, xb, yb: m(xb, torch.rand(len(xb))).pow(2).mean()  # noqa: E731
    with pytest.raises(ValueError, match=message):
        train_denoiser(model, loss_fn, torch.randn(8, 2), **kwargs)


def test_toy_data():
    for kind in ("moons", "ring"):
        pts = make_toy_2d(1000, kind, torch.Generator().manual_seed(0))
        assert pts.shape == (1000, 2) and pts.abs().max() < 3
    with pytest.raises(ValueError, match="unknown toy dataset 'spiral'"):
        make_toy_2d(10, "spiral")


# ---- the sampler loops on predict(x, t) (04's build exercise) ----

def _eps_predict(T: int = 20, clip: float | None = 1.0):
    betas, ab = cosine_schedule(T)
    model = lambda x, t, y: 0.5 * x + 0.02 * t[:, None].float()  # noqa: E731
    return betas, ab, diffusion.predictor(model, alphas_cumprod=ab, clip=clip)


def test_ddpm_loop_is_ddpm_sample():
    betas, ab, predict = _eps_predict()
    model = lambda x, t, y: 0.5 * x + 0.02 * t[:, None].float()  # noqa: E731
    a = diffusion.ddpm_loop(predict, (6, 3), betas, ab, torch.Generator().manual_seed(1))
    b = ddpm_sample(model, (6, 3), betas, ab, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(a, b, atol=1e-6)


def test_ddim_eta_one_on_every_step_is_the_ancestral_sampler():
    betas, ab, predict = _eps_predict()
    ancestral = diffusion.ddpm_loop(predict, (500, 3), betas, ab, torch.Generator().manual_seed(2))
    ddim = diffusion.ddim_loop(predict, (500, 3), ab, 20, torch.Generator().manual_seed(2), eta=1.0)
    assert torch.allclose(ancestral, ddim, atol=1e-4)


def test_ddim_eta_zero_is_deterministic_and_draws_only_x_T():
    _, ab, predict = _eps_predict()
    g = torch.Generator().manual_seed(3)
    a = diffusion.ddim_loop(predict, (4, 2), ab, 5, g)
    g_once = torch.Generator().manual_seed(3)
    x_T = torch.randn((4, 2), generator=g_once)
    assert torch.equal(g.get_state(), g_once.get_state())         # one draw: x_T
    assert torch.equal(a, diffusion.ddim_loop(predict, (4, 2), ab, 5, torch.Generator().manual_seed(3)))
    # by hand: the same update with x_T
    x = x_T
    times = diffusion.ddim_times(20, 5)
    assert times == [19, 14, 10, 5, 0]
    for i, t in enumerate(times):
        eps = predict(x, t)
        x0 = (x - (1 - ab[t]).sqrt() * eps) / ab[t].sqrt()
        if i + 1 == len(times):
            break
        x = ab[times[i + 1]].sqrt() * x0 + (1 - ab[times[i + 1]]).sqrt() * eps
    assert torch.allclose(a, x0, atol=1e-4)
    assert torch.allclose(ddim_sample(lambda x, t, y: 0.5 * x + 0.02 * t[:, None].float(), (4, 2), ab, 5,
                                      generator=torch.Generator().manual_seed(3)), a, atol=1e-6)


def test_ddim_and_euler_loops_reject_bad_arguments():
    _, ab, predict = _eps_predict()
    with pytest.raises(ValueError, match=r"num_steps must be an int in 1\.\.20, got 21"):
        diffusion.ddim_loop(predict, (2, 2), ab, 21, None)
    with pytest.raises(ValueError, match=r"eta must lie in \[0, 1\]"):
        diffusion.ddim_loop(predict, (2, 2), ab, 5, None, eta=1.5)
    with pytest.raises(ValueError, match="num_steps must be a positive int, got 0"):
        diffusion.euler_loop(lambda x, t: x, (2, 2), 0, None)
    with pytest.raises(ValueError, match="clipping the clean estimate needs alphas_cumprod"):
        diffusion.predictor(lambda x, t, y: x, clip=1.0)


def test_euler_loop_is_euler_sample_and_takes_the_velocity_at_the_start_of_each_step():
    v = lambda x, t, y: x * 0 + t[:, None]  # noqa: E731   # dx/dt = t: Euler gives x_0 + (n - 1) / (2n)
    x = diffusion.euler_loop(diffusion.predictor(v), (3, 2), 4, torch.Generator().manual_seed(0))
    start = torch.randn((3, 2), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x, start + 3 / 8, atol=1e-6)
    assert torch.allclose(euler_sample(v, (3, 2), 4, generator=torch.Generator().manual_seed(0)), x, atol=1e-6)


def test_predictor_guides_with_the_given_combine_and_moves_labels_to_the_device():
    seen = []
    model = lambda x, t, y: x * 0 + y[:, None].float()  # noqa: E731
    combine = lambda c, u, w: seen.append(w) or c - u  # noqa: E731
    predict = diffusion.predictor(model, y=torch.tensor([1, 2]), w=2.0, null_label=5, combine=combine)
    out = predict(torch.zeros(2, 3), 7)
    assert seen == [2.0] and torch.equal(out, torch.tensor([[-4.0] * 3, [-3.0] * 3]))


def test_sampler_loops_draw_on_the_generators_device(monkeypatch):
    """A CUDA model is sampled with a CUDA generator: every draw must ask for the generator's device
    (checked on the CPU by recording torch.randn's device argument)."""
    real_randn, asked = torch.randn, []

    def spy(*args, **kwargs):
        asked.append(kwargs.get("device"))
        return real_randn(*args, **kwargs)

    monkeypatch.setattr(torch, "randn", spy)
    betas, ab, predict = _eps_predict()
    g = torch.Generator().manual_seed(0)
    diffusion.ddpm_loop(predict, (2, 3), betas, ab, g)
    diffusion.ddim_loop(predict, (2, 3), ab, 5, g, eta=0.5)
    diffusion.euler_loop(lambda x, t: x, (2, 3), 3, g)
    ddpm_sample(lambda x, t, y: x, (2, 3), betas, ab, generator=g)
    euler_sample(lambda x, t, y: x, (2, 3), 3, generator=g)
    assert asked and all(d is not None and torch.device(d) == g.device for d in asked), asked
