"""Unit tests for genlab.inference and genlab.data.tabular (01_foundations' library code)."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from genlab.data import load_breast_cancer
from genlab.inference import (BetaPosterior, beta_binomial_posterior, elbo_logistic,
                              excess_kurtosis_of_sums, fit_mean_field, gaussian_entropy, gaussian_kl,
                              grid_posterior, hmc, laplace_approximation, log_joint, log_likelihood,
                              log_prior, reparameterize)
from genlab.inference.clt import standardized_uniform_sums


# --- Beta–Binomial -------------------------------------------------------------------------

def test_beta_binomial_update_is_pseudo_counts():
    post = beta_binomial_posterior(3, 10, a=2.0, b=5.0)
    assert isinstance(post, BetaPosterior)
    assert tuple(post) == (5.0, 12.0)
    a, b = beta_binomial_posterior(0, 0)
    assert (a, b) == (1.0, 1.0)


@pytest.mark.parametrize("k,n,a,b", [(7, 20, 3.0, 2.0), (0, 5, 1.0, 1.0), (50, 60, 0.5, 0.5)])
def test_beta_binomial_equals_grid_posterior(k, n, a, b):
    theta, density = grid_posterior(k, n, a, b, num_points=4001)
    post = beta_binomial_posterior(k, n, a, b)
    inner = (theta > 0.01) & (theta < 0.99)              # Beta(½, ½) is singular at the ends
    np.testing.assert_allclose(density[inner], post.pdf(theta[inner]), rtol=2e-3, atol=1e-3)


def test_beta_summaries():
    post = BetaPosterior(8.0, 4.0)
    assert post.mean == pytest.approx(8 / 12)
    assert post.map == pytest.approx(7 / 10)
    assert post.std == pytest.approx(stats.beta.std(8, 4))
    lo, hi = post.credible_interval(0.9)
    assert stats.beta.cdf(hi, 8, 4) - stats.beta.cdf(lo, 8, 4) == pytest.approx(0.9)
    assert BetaPosterior(1.0, 3.0).map == 0.0 and BetaPosterior(3.0, 1.0).map == 1.0


@pytest.mark.parametrize("args, message", [
    ((11, 10), r"k \(number of successes\) must be an integer in \[0, n=10\], got 11"),
    ((-1, 10), r"k \(number of successes\) must be an integer in \[0, n=10\], got -1"),
    ((2.5, 10), r"k \(number of successes\) must be an integer in \[0, n=10\], got 2.5"),
    ((3, -1), r"n \(number of trials\) must be a non-negative integer"),
    ((3, 10, 0.0, 1.0), "the Beta prior needs a > 0 and b > 0"), ((3, 10, 1.0, -2.0), "the Beta prior needs a > 0 and b > 0")])
def test_beta_binomial_bad_args(args, message):
    with pytest.raises(ValueError, match=message):
        beta_binomial_posterior(*args)


def test_beta_bad_level_and_mode():
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        BetaPosterior(2.0, 2.0).credible_interval(1.5)
    with pytest.raises(ValueError, match="has no unique mode"):
        BetaPosterior(1.0, 1.0).map


# --- Gaussians, reparameterisation, ELBO ---------------------------------------------------

def test_reparameterize_shapes_statistics_and_gradients():
    mu = torch.tensor([1.0, -2.0], requires_grad=True)
    log_sigma = torch.tensor([0.0, math.log(0.5)], requires_grad=True)
    w = reparameterize(mu, log_sigma, 20000, torch.Generator().manual_seed(0))
    assert w.shape == (20000, 2)
    np.testing.assert_allclose(w.mean(0).detach(), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(w.std(0).detach(), [1.0, 0.5], rtol=0.03)
    w.sum().backward()
    assert mu.grad is not None and log_sigma.grad is not None
    assert reparameterize(mu, log_sigma).shape == (2,)
    with pytest.raises(ValueError, match="mu and log_sigma must have the same shape"):
        reparameterize(mu, log_sigma[:1])
    with pytest.raises(ValueError, match="n_samples must be a positive int or None"):
        reparameterize(mu, log_sigma, 0)


def test_entropy_and_kl_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, log_sigma = torch.randn(4, 3, generator=g), 0.5 * torch.randn(4, 3, generator=g)
    q = torch.distributions.Normal(mu, log_sigma.exp())
    torch.testing.assert_close(gaussian_entropy(log_sigma), q.entropy().sum(-1))
    for s in (1.0, 2.5):
        p = torch.distributions.Normal(torch.zeros(3), s * torch.ones(3))
        torch.testing.assert_close(gaussian_kl(mu, log_sigma, s),
                                   torch.distributions.kl_divergence(q, p).sum(-1))
    with pytest.raises(ValueError, match="prior_std must be positive"):
        gaussian_kl(mu, log_sigma, prior_std=0.0)


def test_logistic_log_joint_matches_torch_distributions():
    g = torch.Generator().manual_seed(2)
    X, w = torch.randn(30, 4, generator=g), torch.randn(5, 4, generator=g)
    y = (torch.rand(30, generator=g) < 0.5).float()
    lik = torch.distributions.Bernoulli(logits=w @ X.T).log_prob(y).sum(-1)
    prior = torch.distributions.Normal(0.0, 2.0).log_prob(w).sum(-1)
    torch.testing.assert_close(log_likelihood(w, X, y), lik)
    torch.testing.assert_close(log_prior(w, 2.0), prior)
    torch.testing.assert_close(log_joint(w, X, y, 2.0), lik + prior)
    assert torch.isfinite(log_likelihood(1000 * w, X, y)).all()        # no overflow
    with pytest.raises(ValueError, match="w has 3 weights per vector but X has 4 columns"):
        log_likelihood(w[:, :3], X, y)
    with pytest.raises(ValueError, match="prior_std must be positive"):
        log_prior(w, -1.0)


def test_elbo_is_expected_log_joint_plus_entropy():
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(25, 3, generator=g), (torch.rand(25, generator=g) < 0.5).float()
    mu, log_sigma, eps = torch.randn(3, generator=g), -torch.rand(3, generator=g), torch.randn(6, 3, generator=g)
    w = mu + log_sigma.exp() * eps
    want = log_joint(w, X, y, 1.7).mean() + gaussian_entropy(log_sigma)
    torch.testing.assert_close(elbo_logistic(mu, log_sigma, X, y, eps, 1.7), want)
    # equivalently: E[log lik] − KL(q ‖ prior), up to Monte-Carlo noise in the prior term
    big_eps = torch.randn(200000, 3, generator=g)
    kl_form = log_likelihood(mu + log_sigma.exp() * big_eps, X, y).mean() - gaussian_kl(mu, log_sigma, 1.7)
    assert elbo_logistic(mu, log_sigma, X, y, big_eps, 1.7).item() == pytest.approx(kl_form.item(), abs=0.02)
    with pytest.raises(ValueError, match=r"eps must be \(S, D=3\)"):
        elbo_logistic(mu, log_sigma, X, y, eps[:, :2])


def test_elbo_is_a_lower_bound_on_the_evidence():
    """One weight, so log p(y) is a 1-D integral we can do by quadrature."""
    g = torch.Generator().manual_seed(4)
    X = torch.randn(15, 1, generator=g, dtype=torch.float64)
    y = (torch.rand(15, generator=g, dtype=torch.float64) < torch.sigmoid(1.5 * X[:, 0])).double()
    joint = lambda w: math.exp(log_joint(torch.tensor([[w]], dtype=torch.float64), X, y).item())  # noqa: E731
    log_evidence = math.log(integrate.quad(joint, -15, 15, limit=200)[0])
    eps = torch.randn(100000, 1, generator=g, dtype=torch.float64)
    for m, ls in [(0.0, 0.0), (1.0, -1.0), (2.0, -0.5)]:
        elbo = elbo_logistic(torch.tensor([m], dtype=torch.float64), torch.tensor([ls], dtype=torch.float64),
                             X, y, eps).item()
        assert elbo < log_evidence + 1e-3


# --- reference posteriors -----------------------------------------------------------------

def test_laplace_is_exact_for_a_gaussian():
    cov = torch.tensor([[1.0, 0.6], [0.6, 2.0]], dtype=torch.float64)
    mean = torch.tensor([1.0, -1.0], dtype=torch.float64)
    dist = torch.distributions.MultivariateNormal(mean, cov)
    lap = laplace_approximation(dist.log_prob, torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(lap.mode, mean, atol=1e-6, rtol=0)
    torch.testing.assert_close(lap.cov, cov, atol=1e-6, rtol=0)


def test_hmc_recovers_a_gaussian():
    scale = torch.tensor([1.0, 0.1, 3.0])
    log_prob = lambda w: -0.5 * ((w - 1.0) / scale).pow(2).sum(-1)  # noqa: E731
    res = hmc(log_prob, torch.zeros(32, 3), num_samples=300, num_warmup=200, num_leapfrog=8,
              generator=torch.Generator().manual_seed(0))
    draws = res.flat()
    assert res.samples.shape == (300, 32, 3)
    assert 0.6 < res.accept_rate < 0.97
    np.testing.assert_allclose(draws.mean(0), [1.0, 1.0, 1.0], atol=0.1 * scale.max().item())
    np.testing.assert_allclose(draws.std(0), scale, rtol=0.1)
    with pytest.raises(ValueError, match=r"init must be \(chains, D\)"):
        hmc(log_prob, torch.zeros(3))


# --- data and the VI-vs-reference check the notebook teaches -------------------------------

def test_breast_cancer_loader():
    d = load_breast_cancer()
    assert d.X_train.shape == (398, 9) and d.X_test.shape == (171, 9)
    assert d.feature_names[0] == "intercept" and d.num_features == 9
    assert torch.all(d.X_train[:, 0] == 1)
    np.testing.assert_allclose(d.X_train[:, 1:].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.X_train[:, 1:].std(0, unbiased=False), 1, atol=1e-5)
    assert set(d.y_train.unique().tolist()) == {0.0, 1.0}
    assert load_breast_cancer("all").num_features == 31
    torch.testing.assert_close(load_breast_cancer().X_test, d.X_test)   # fixed split
    with pytest.raises(ValueError, match="features must be 'weakly_correlated', 'all' or a tuple of names"):
        load_breast_cancer("everything")
    with pytest.raises(ValueError, match=r"unknown feature names \['colour'\]"):
        load_breast_cancer(("mean radius", "colour"))


def test_mean_field_vi_means_match_hmc():
    d = load_breast_cancer()
    X, y = d.X_train, d.y_train
    log_prob = lambda w: log_joint(w, X, y, 1.0)  # noqa: E731
    lap = laplace_approximation(log_prob, torch.zeros(X.shape[1]))
    init = lap.mode + 0.3 * torch.randn(32, X.shape[1], generator=torch.Generator().manual_seed(1))
    ref = hmc(log_prob, init, num_samples=300, num_warmup=150, num_leapfrog=8,
              generator=torch.Generator().manual_seed(0)).flat()
    vi = fit_mean_field(X, y, prior_std=1.0, max_steps=1000, num_samples=16, lr=0.05)
    z = ((vi.mu - ref.mean(0)) / ref.std(0)).abs().max().item()
    assert z < 0.25, f"VI means are {z:.2f} posterior sds from HMC's"
    assert vi.elbo[-1] > vi.elbo[0]
    assert torch.all(vi.sigma < 1.1 * ref.std(0))        # mean-field does not overestimate spread here
    with pytest.raises(ValueError, match="max_steps and num_samples must be >= 1"):
        fit_mean_field(X, y, max_steps=0)


# --- the CLT --------------------------------------------------------------------------------

def test_kurtosis_of_uniform_sums_goes_like_one_over_n():
    k = excess_kurtosis_of_sums([1, 4, 64], num_sums=100_000, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(k, [-1.2, -0.3, -1.2 / 64], atol=0.05)
    sums = standardized_uniform_sums(16, 50_000)
    assert abs(sums.mean()) < 0.02 and abs(sums.var() - 1) < 0.03
    with pytest.raises(ValueError, match="n must be a positive integer"):
        standardized_uniform_sums(0, 10)
    with pytest.raises(ValueError, match="ns must hold at least one n"):
        excess_kurtosis_of_sums([])
