"""Unit tests for genlab.generative.vae (02_vae's reference implementation)."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from genlab.generative.vae import (VAE, VAEConfig, bernoulli_log_lik, build, elbo, evaluate, gaussian_kl,
                                   gaussian_log_prob, iwae_bound, iwae_from_samples, log_importance_weights,
                                   reconstruct, refine_posterior, reparameterize, sample, train_step,
                                   train_vae, vae_loss)
from genlab.train import warmup_cosine
from genlab.inference import vi


def _gaussian(n=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), 1.5 * torch.randn(n, d, generator=g)


def test_gaussian_kl_matches_torch_distributions():
    mu, log_var = _gaussian()
    expected = kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), expected, atol=1e-5, rtol=1e-5)
    assert gaussian_kl(mu, log_var).shape == (5,)
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0


def test_gaussian_kl_reuses_the_log_sigma_version():
    mu, log_var = _gaussian(seed=1)
    torch.testing.assert_close(gaussian_kl(mu, log_var), vi.gaussian_kl(mu, 0.5 * log_var))


def test_reparameterize_uses_half_log_var_and_is_differentiable():
    mu, log_var = _gaussian(seed=2)
    mu.requires_grad_(True)
    log_var.requires_grad_(True)
    z = reparameterize(mu, log_var, generator=torch.Generator().manual_seed(3))
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(z, mu + (0.5 * log_var).exp() * eps)
    z.sum().backward()
    torch.testing.assert_close(log_var.grad, 0.5 * (0.5 * log_var.detach()).exp() * eps)
    assert reparameterize(mu, log_var, n_samples=7).shape == (7, 5, 3)


def test_reparameterize_moments():
    mu, log_var = torch.tensor([1.0, -2.0]), torch.tensor([0.0, math.log(4.0)])
    z = reparameterize(mu, log_var, n_samples=200_000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), mu, atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 2.0]), atol=0.02, rtol=0)


def test_gaussian_log_prob_matches_torch():
    mu, log_var = _gaussian(seed=4)
    z = torch.randn(6, 5, 3, generator=torch.Generator().manual_seed(5))
    expected = Normal(mu, (0.5 * log_var).exp()).log_prob(z).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(z, mu, log_var), expected, atol=1e-5, rtol=1e-5)


def test_bernoulli_log_lik_is_stable_and_per_image():
    x = torch.rand(4, 64, generator=torch.Generator().manual_seed(0))
    logits = 100 * torch.randn(4, 64, generator=torch.Generator().manual_seed(1))
    value = bernoulli_log_lik(x, logits)
    assert value.shape == (4,) and torch.isfinite(value).all()
    p = torch.sigmoid(torch.randn(4, 64))
    naive = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
    torch.testing.assert_close(bernoulli_log_lik(x, p.logit()), naive, atol=1e-4, rtol=1e-5)


def test_elbo_per_sample_and_beta():
    g = torch.Generator().manual_seed(0)
    x, logits = torch.rand(3, 64, generator=g), torch.randn(3, 64, generator=g)
    mu, log_var = _gaussian(3, 8)
    value = elbo(x, logits, mu, log_var)
    assert value.shape == (3,)
    torch.testing.assert_close(value, bernoulli_log_lik(x, logits) - gaussian_kl(mu, log_var))
    torch.testing.assert_close(elbo(x, logits, mu, log_var, beta=0.0), bernoulli_log_lik(x, logits))
    torch.testing.assert_close(elbo(x, logits, mu, log_var, beta=2.0),
                               bernoulli_log_lik(x, logits) - 2 * gaussian_kl(mu, log_var))


def test_iwae_k1_is_a_one_sample_elbo_and_k_matters():
    g = torch.Generator().manual_seed(0)
    x, mu, log_var = torch.rand(4, 64, generator=g), *_gaussian(4, 2, seed=6)
    z = reparameterize(mu, log_var, n_samples=5, generator=g)
    logits = torch.randn(5, 4, 64, generator=g)
    log_w = log_importance_weights(x, logits, z, mu, log_var)
    assert log_w.shape == (5, 4)
    torch.testing.assert_close(iwae_from_samples(x, logits[:1], z[:1], mu, log_var), log_w[0])
    torch.testing.assert_close(iwae_from_samples(x, logits, z, mu, log_var),
                               torch.logsumexp(log_w, 0) - math.log(5))
    # log-mean-exp >= mean of logs (Jensen): the bound is at least the average one-sample ELBO
    assert (iwae_from_samples(x, logits, z, mu, log_var) >= log_w.mean(0) - 1e-5).all()


def test_one_sample_elbo_estimate_matches_closed_form_kl_in_expectation():
    """E_q[log p(z) − log q(z|x)] = −KL: the sampled IWAE(k=1) and the closed-form ELBO agree on average."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=16, latent=3))
    x = torch.rand(2, 64, generator=torch.Generator().manual_seed(0))
    k1 = iwae_bound(model, x.repeat(20_000, 1), k=1, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mu, log_var = model.encode(x)
        z = reparameterize(mu, log_var, n_samples=20_000, generator=torch.Generator().manual_seed(2))
        exact = bernoulli_log_lik(x, model.decode(z)).mean(0) - gaussian_kl(mu, log_var)
    estimate = k1.reshape(20_000, 2).mean(0)
    torch.testing.assert_close(estimate, exact, atol=0.05, rtol=0)


def test_iwae_bound_tightens_with_k():
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=32, latent=4))
    x = torch.rand(64, 64, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    b1, b10, b50 = (iwae_bound(model, x, k, generator=gen).mean() for k in (1, 10, 50))
    assert b1 < b10 < b50


def test_model_shapes_and_sampling():
    model = VAE(VAEConfig(hidden=32, latent=5))
    x = torch.rand(7, 64)
    logits, mu, log_var = model(x)
    assert logits.shape == (7, 64) and mu.shape == log_var.shape == (7, 5)
    samples = model.sample(11, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (11, 64) and samples.min() >= 0 and samples.max() <= 1
    assert model.reconstruct(x).shape == (7, 64)
    assert model.decode(torch.zeros(3, 2, 5)).shape == (3, 2, 64)
    assert set(evaluate(model, x)) == {"neg_elbo", "distortion", "rate"}
    assert vae_loss(model, (x,)).ndim == 0


def test_training_lowers_the_negative_elbo():
    from genlab.data import load_digits

    d = load_digits()
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=64))
    before = evaluate(model, d.X_val, generator=torch.Generator().manual_seed(0))["neg_elbo"]
    history = train_vae(model, d.X_train, num_epochs=5, X_val=d.X_val, progress=False)
    assert len(history) == 5 and history["val_neg_elbo"][-1] < before - 5


def test_train_vae_sets_each_steps_lr_from_warmup_cosine(monkeypatch):
    """The schedule is fit's lr_schedule (the course's one schedule), not a scheduler stepped in the loss."""
    import genlab.train

    seen = []
    real = genlab.train.set_lr
    monkeypatch.setattr(genlab.train, "set_lr", lambda opt, lr: (seen.append(lr), real(opt, lr)))
    X = torch.rand(100, 64, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    train_vae(VAE(VAEConfig(hidden=8)), X, num_epochs=3, lr=1e-3, batch_size=25, progress=False)
    assert seen == [1e-3 * warmup_cosine(s / 12) for s in range(12)]   # 3 epochs of 4 batches
    assert seen[0] == 1e-3 and 1e-4 < seen[-1] < 1.2e-4   # no warmup; the cosine ends at 10 %


def test_train_vae_is_deterministic_given_the_seed():
    X = torch.rand(100, 64, generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        losses.append(train_vae(VAE(VAEConfig(hidden=8)), X, num_epochs=2, seed=3, progress=False)["train_loss"])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("call, message", [
    (lambda: gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)),
     r"mu and log_var must have the same shape, got \(2, 3\) and \(2, 4\)"),
    (lambda: reparameterize(torch.zeros(3), torch.zeros(2)), "mu and log_var must have the same shape"),
    (lambda: elbo(torch.rand(2, 64), torch.zeros(2, 63), torch.zeros(2, 3), torch.zeros(2, 3)),
     r"x and logits must both be \(N, pixels\)"),
    (lambda: elbo(torch.rand(2, 64), torch.zeros(2, 64), torch.zeros(2, 3), torch.zeros(2, 3), beta=-1.0),
     "beta must be >= 0, got -1.0"),
    (lambda: iwae_from_samples(torch.rand(2, 64), torch.zeros(2, 64), torch.zeros(2, 3), torch.zeros(2, 3),
                               torch.zeros(2, 3)), r"z must be \(k, N, latent\) and logits \(k, N, pixels\)"),
    (lambda: iwae_bound(VAE(VAEConfig(hidden=8)), torch.rand(2, 64), k=0), "k must be a positive int, got 0"),
    (lambda: VAE(VAEConfig(hidden=8)).encode(torch.rand(2, 63)), r"x must be \(N, 64\) flattened images"),
    (lambda: VAE(VAEConfig(hidden=8)).sample(0), "num_samples must be a positive int, got 0"),
    (lambda: VAEConfig(latent=0), "latent must be a positive int, got 0"),
    (lambda: train_vae(VAE(VAEConfig(hidden=8)), torch.rand(4, 64), num_epochs=1, beta=-0.5),
     "beta must be >= 0, got -0.5"),
    (lambda: train_vae(VAE(VAEConfig(hidden=8)), torch.rand(4, 8, 8), num_epochs=1),
     r"X_train must be \(N, pixels\)"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- 02_vae's build exercise: the module and the training step ----------------------------------

def test_build_names_the_parameters_as_the_exercise_does():
    model = build(num_pixels=10, hidden=7, latent=2)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {"encoder.0.weight": (7, 10), "encoder.0.bias": (7,), "encoder.2.weight": (7, 7),
                      "encoder.2.bias": (7,), "encoder.4.weight": (4, 7), "encoder.4.bias": (4,),
                      "decoder.0.weight": (7, 2), "decoder.0.bias": (7,), "decoder.2.weight": (7, 7),
                      "decoder.2.bias": (7,), "decoder.4.weight": (10, 7), "decoder.4.bias": (10,)}


def test_train_step_is_one_adam_step_on_the_batch_mean_of_minus_elbo():
    torch.manual_seed(0)
    model, twin = build(hidden=16, latent=3), build(hidden=16, latent=3)
    twin.load_state_dict(model.state_dict())
    x = torch.rand(9, 64, generator=torch.Generator().manual_seed(1))
    opt, opt_twin = torch.optim.Adam(model.parameters(), lr=1e-2), torch.optim.Adam(twin.parameters(), lr=1e-2)
    loss = train_step(model, opt, x, beta=0.6, generator=torch.Generator().manual_seed(2))
    assert isinstance(loss, float)
    logits, mu, log_var = twin(x, generator=torch.Generator().manual_seed(2))
    expected = -elbo(x, logits, mu, log_var, 0.6).mean()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    opt_twin.zero_grad()
    expected.backward()
    opt_twin.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b)


def test_train_vae_runs_a_given_step():
    calls = []

    def step(model, optimizer, x, beta):
        calls.append((x.shape[0], beta))
        return train_step(model, optimizer, x, beta)

    torch.manual_seed(0)
    history = train_vae(build(hidden=8), torch.rand(50, 64), num_epochs=2, beta=0.3, batch_size=25,
                        progress=False, step=step)
    assert calls == [(25, 0.3)] * 4 and len(history) == 2


def test_sample_and_reconstruct_work_on_any_module_with_encode_and_decode():
    class Plain(torch.nn.Module):   # a learner's module: no config, no sample method
        def __init__(self):
            super().__init__()
            self.inner = build(hidden=8, latent=3)
            self.encoder, self.decoder = self.inner.encoder, self.inner.decoder

        def encode(self, x):
            return self.inner.encode(x)

        def decode(self, z):
            return self.inner.decode(z)

    plain = Plain()
    a = sample(plain, 5, generator=torch.Generator().manual_seed(0))
    b = plain.inner.sample(5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert reconstruct(plain, torch.rand(4, 64)).shape == (4, 64)


def test_a_cpu_generator_drives_noise_for_a_model_on_another_device():
    """A CPU generator with a model elsewhere (the meta device stands in for CUDA): no error, same device."""
    mu = torch.zeros(3, 2, device="meta")
    z = reparameterize(mu, mu, generator=torch.Generator().manual_seed(0))
    assert z.device.type == "meta" and z.shape == (3, 2)
    model = build(hidden=8, latent=2).to("meta")
    assert sample(model, 4, generator=torch.Generator().manual_seed(0)).device.type == "meta"


def test_refine_posterior_raises_the_elbo_and_leaves_the_model_alone():
    from genlab.data import load_digits

    d = load_digits()
    torch.manual_seed(0)
    model = build(hidden=32, latent=4)
    train_vae(model, d.X_train, num_epochs=3, progress=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = d.X_test[:40]
    q = refine_posterior(model, x, num_steps=50, generator=torch.Generator().manual_seed(0))
    assert q[0].shape == q[1].shape == (40, 4) and not q[0].requires_grad
    enc = evaluate(model, x, num_samples=50, generator=torch.Generator().manual_seed(1))["neg_elbo"]
    ref = evaluate(model, x, num_samples=50, generator=torch.Generator().manual_seed(1), q=q)["neg_elbo"]
    assert ref < enc
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())
    assert iwae_bound(model, x, 5, q=q, generator=torch.Generator().manual_seed(2)).shape == (40,)


def test_iwae_bound_uses_a_given_bound_function():
    seen = []

    def bound(*args):
        seen.append(args[2].shape)
        return iwae_from_samples(*args)

    model = build(hidden=8, latent=2)
    iwae_bound(model, torch.rand(6, 64), 3, bound=bound)
    assert seen == [(3, 6, 2)]
