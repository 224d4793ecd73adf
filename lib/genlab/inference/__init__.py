"""Bayesian inference: conjugate posteriors, variational inference, HMC, Laplace, and the CLT.

Introduced in 01_foundations.
"""
from .clt import excess_kurtosis_of_sums, standardized_uniform_sums
from .conjugate import BetaPosterior, beta_binomial_posterior, grid_posterior
from .laplace import LaplaceResult, find_map, laplace_approximation
from .logistic import log_joint, log_likelihood, log_prior
from .mcmc import HMCResult, hmc
from .vi import (MeanFieldFit, elbo_logistic, fit_mean_field, gaussian_entropy, gaussian_kl,
                 reparameterize)

__all__ = [
    "BetaPosterior", "beta_binomial_posterior", "grid_posterior",
    "LaplaceResult", "find_map", "laplace_approximation",
    "log_joint", "log_likelihood", "log_prior",
    "HMCResult", "hmc",
    "MeanFieldFit", "elbo_logistic", "fit_mean_field", "gaussian_entropy", "gaussian_kl", "reparameterize",
    "excess_kurtosis_of_sums", "standardized_uniform_sums",
]
