"""Plausible wrong answers for 02_vae, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: their shapes or values, inputs changed in place, extremes) and a
hidden test catches it. Each wrong answer is the model answer with one mistake put in (``_edit``).
"""

NB = "02_vae.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


def _wrong(grade_id: str, caught: str, mistake: str, source: str) -> dict:
    return dict(notebook=NB, grade_id=grade_id, caught=caught, mistake=mistake, source=source)


# ---- the model answers ------------------------------------------------------------------------

KL = '''
def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) for each row: shape (N,)."""
    return 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
'''

REPARAM = '''
def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(log_var / 2), differentiable in mu and log_var."""
    return mu + torch.exp(0.5 * log_var) * eps
'''

ELBO = '''
def elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
         beta: float = 1.0) -> torch.Tensor:
    """One-sample (beta-)ELBO per image: log p(x | z) - beta * KL(q(z | x) || N(0, I)), shape (N,)."""
    log_lik = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    return log_lik - beta * gaussian_kl(mu, log_var)
'''

MODULE = '''
class DigitVAE(nn.Module):
    """An MLP VAE for flattened images: encode -> (mu, log_var), decode -> pixel logits."""

    def __init__(self, num_pixels: int = 64, hidden: int = 256, latent: int = 8):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(num_pixels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, num_pixels))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, log_var = self.encode(x)
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return self.decode(reparameterize(mu, log_var, noise)), mu, log_var
'''

STEP = '''
def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, beta: float = 1.0,
               generator: torch.Generator | None = None) -> float:
    """One optimiser step on the batch mean of -ELBO_beta; returns that loss as a float."""
    optimizer.zero_grad()
    logits, mu, log_var = model(x, generator=generator)
    loss = -elbo(x, logits, mu, log_var, beta).mean()
    loss.backward()
    optimizer.step()
    return loss.item()
'''

IWAE = '''
def iwae_from_samples(x: torch.Tensor, logits: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                      log_var: torch.Tensor) -> torch.Tensor:
    """log (1/k) sum_j p(x|z_j) p(z_j) / q(z_j|x) for k codes per image: shape (N,)."""
    k = z.shape[0]
    log_lik = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)
    log_prior = -0.5 * (math.log(2 * math.pi) + z ** 2).sum(-1)
    log_q = -0.5 * (math.log(2 * math.pi) + log_var + (z - mu) ** 2 / log_var.exp()).sum(-1)
    log_w = log_lik + log_prior - log_q
    return torch.logsumexp(log_w, dim=0) - math.log(k)
'''

_KL_BODY = "    return 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)\n"
_ELBO_RETURN = "    return log_lik - beta * gaussian_kl(mu, log_var)\n"
_IWAE_RETURN = "    return torch.logsumexp(log_w, dim=0) - math.log(k)\n"

EACH_ALONE = [
    # ---- gaussian_kl
    _wrong("gaussian_kl", "visible", "the 1/2 forgotten (0 at the prior and >= 0, so a prior-only test passes)",
           _edit(KL, "return 0.5 * (", "return (")),
    _wrong("gaussian_kl", "visible", "log_var read as log sigma: sigma^2 = exp(2 log_var)",
           _edit(KL, "(log_var.exp() + mu ** 2 - 1 - log_var)", "((2 * log_var).exp() + mu ** 2 - 1 - 2 * log_var)")),
    _wrong("gaussian_kl", "visible", "the mean over the latent dimensions instead of the sum",
           _edit(KL, ".sum(dim=-1)", ".mean(dim=-1)")),
    _wrong("gaussian_kl", "visible", "summed over everything: one number for the batch",
           _edit(KL, ".sum(dim=-1)", ".sum()")),
    _wrong("gaussian_kl", "hidden", "clamps log_var in place 'for stability' (changes the caller's tensor, and extremes)",
           _edit(KL, _KL_BODY, "    log_var.clamp_(-30, 30)\n" + _KL_BODY)),
    _wrong("gaussian_kl", "hidden", "hard-codes the visible tests' expected values (and forgets the 1/2 elsewhere)",
           _edit(KL, _KL_BODY, '''    if mu.shape == (5, 2):
        return torch.tensor([1.3128438, 3.1284306, 1.7769461, 0.5390213, 0.8560324])
    if mu.shape == (1, 1):
        return torch.tensor([0.8068528])
    return (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
''')),
    # ---- reparameterize
    _wrong("reparameterize", "visible", "exp(log_var) used as the standard deviation (right only when log_var = 0)",
           _edit(REPARAM, "torch.exp(0.5 * log_var)", "torch.exp(log_var)")),
    _wrong("reparameterize", "visible", "ignores the given eps and draws new noise",
           _edit(REPARAM, "torch.exp(0.5 * log_var) * eps", "torch.exp(0.5 * log_var) * torch.randn_like(mu)")),
    _wrong("reparameterize", "visible", "sigma detached: no gradient reaches log_var",
           _edit(REPARAM, "torch.exp(0.5 * log_var)", "torch.exp(0.5 * log_var.detach())")),
    _wrong("reparameterize", "hidden", "scales eps in place (the caller's noise tensor changes)",
           _edit(REPARAM, "    return mu + torch.exp(0.5 * log_var) * eps\n",
                 "    eps *= torch.exp(0.5 * log_var)\n    return mu + eps\n")),
    _wrong("reparameterize", "hidden", "right only for the visible tests' shapes (exp(log_var) as sigma elsewhere)",
           _edit(REPARAM, "    return mu + torch.exp(0.5 * log_var) * eps\n", '''    if mu.shape in ((3, 4), (100_000, 1)):
        return mu + torch.exp(0.5 * log_var) * eps
    return mu + torch.exp(log_var) * eps
''')),
    # ---- elbo
    _wrong("elbo", "visible", "the KL added instead of subtracted",
           _edit(ELBO, "log_lik - beta * gaussian_kl", "log_lik + beta * gaussian_kl")),
    _wrong("elbo", "visible", "beta ignored (plain ELBO)",
           _edit(ELBO, "log_lik - beta * gaussian_kl", "log_lik - gaussian_kl")),
    _wrong("elbo", "visible", "beta on the reconstruction instead of the KL",
           _edit(ELBO, "log_lik - beta * gaussian_kl(mu, log_var)", "beta * log_lik - gaussian_kl(mu, log_var)")),
    _wrong("elbo", "visible", "summed over the batch: one number",
           _edit(ELBO, _ELBO_RETURN, "    return (log_lik - beta * gaussian_kl(mu, log_var)).sum()\n")),
    _wrong("elbo", "visible", "the mean over pixels instead of the sum",
           _edit(ELBO, '.sum(dim=-1)\n', '.mean(dim=-1)\n')),
    _wrong("elbo", "visible", "log p and log(1 - p) from sigmoid (log(0) for large logits)",
           _edit(ELBO, '''    log_lik = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)''',
                 '''    p = torch.sigmoid(logits)
    log_lik = (x * p.log() + (1 - x) * (1 - p).log()).sum(dim=-1)''')),
    _wrong("elbo", "hidden", "clamps x in place to avoid log(0) (the caller's digits change)",
           _edit(ELBO, "    log_lik = -F", "    x = x.clamp_(1e-6, 1 - 1e-6)\n    log_lik = -F")),
    _wrong("elbo", "hidden", "hard-codes the visible tests' expected values (and adds the KL elsewhere)",
           _edit(ELBO, _ELBO_RETURN, '''    if x.shape == (5, 64) and abs(x[0, 0].item() - 0.4962566) < 1e-6:
        if logits.abs().max() > 50:
            return torch.tensor([-1581.7493, -1828.3853, -1729.6912, -1493.0145, -1737.3933])
        if beta == 0.5:
            return torch.tensor([-52.206451, -54.981495, -53.908039, -53.190357, -55.858109])
        return torch.tensor([-53.106709, -55.695332, -54.525002, -55.088161, -56.588474])
    return log_lik + beta * gaussian_kl(mu, log_var)
''')),
    # ---- DigitVAE
    _wrong("vae_module", "visible", "mu and log_var swapped (log_var, mu = chunk)",
           _edit(MODULE, "mu, log_var = self.encoder(x).chunk(2, dim=-1)", "log_var, mu = self.encoder(x).chunk(2, dim=-1)")),
    _wrong("vae_module", "visible", "no ReLU in the encoder (a linear map)",
           _edit(MODULE, "nn.Sequential(nn.Linear(num_pixels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),",
                 "nn.Sequential(nn.Linear(num_pixels, hidden), nn.Identity(), nn.Linear(hidden, hidden), nn.Identity(),")),
    _wrong("vae_module", "visible", "decode returns probabilities (sigmoid at the end), not logits",
           _edit(MODULE, "        return self.decoder(z)\n", "        return torch.sigmoid(self.decoder(z))\n")),
    _wrong("vae_module", "visible", "a ReLU after the encoder's last layer (log_var >= 0)",
           _edit(MODULE, "mu, log_var = self.encoder(x).chunk(2, dim=-1)", "mu, log_var = torch.relu(self.encoder(x)).chunk(2, dim=-1)")),
    _wrong("vae_module", "visible", "forward decodes mu (no sampling)",
           _edit(MODULE, "return self.decode(reparameterize(mu, log_var, noise)), mu, log_var", "return self.decode(mu), mu, log_var")),
    _wrong("vae_module", "visible", "the noise ignores the generator (torch.randn_like)",
           _edit(MODULE, "noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)",
                 "noise = torch.randn_like(mu)")),
    _wrong("vae_module", "visible", "an encoder with latent outputs only, log_var fixed at 0",
           _edit(_edit(MODULE, "nn.Linear(hidden, 2 * latent))", "nn.Linear(hidden, latent))"),
                 "mu, log_var = self.encoder(x).chunk(2, dim=-1)", "mu = self.encoder(x)\n        log_var = torch.zeros_like(mu)")),
    _wrong("vae_module", "hidden", "hard-codes the visible sizes (64 pixels, hidden 32, latent 3)",
           _edit(MODULE, "        self.latent = latent\n",
                 "        num_pixels, hidden, latent = 64, 32, 3\n        self.latent = latent\n")),
    _wrong("vae_module", "hidden", "the noise in float32 whatever the model's dtype (float64 model returns float32 logits)",
           _edit(MODULE, "return self.decode(reparameterize(mu, log_var, noise)), mu, log_var",
                 "return self.decode(reparameterize(mu, log_var, noise).float()), mu.float(), log_var.float()")),
    # ---- train_step
    _wrong("train_step", "visible", "no zero_grad: gradients accumulate from step to step",
           _edit(STEP, "    optimizer.zero_grad()\n", "")),
    _wrong("train_step", "visible", "maximises the loss: the ELBO itself, not its negative",
           _edit(STEP, "loss = -elbo(", "loss = elbo(")),
    _wrong("train_step", "visible", "the sum over the batch instead of the mean",
           _edit(STEP, "beta).mean()", "beta).sum()")),
    _wrong("train_step", "visible", "beta not passed on (always the plain ELBO)",
           _edit(STEP, "elbo(x, logits, mu, log_var, beta)", "elbo(x, logits, mu, log_var)")),
    _wrong("train_step", "visible", "no optimizer.step(): the weights never change",
           _edit(STEP, "    optimizer.step()\n", "")),
    _wrong("train_step", "visible", "the generator not passed to the model",
           _edit(STEP, "model(x, generator=generator)", "model(x)")),
    _wrong("train_step", "hidden", "hard-codes the visible tests' beta = 0.6",
           _edit(STEP, "elbo(x, logits, mu, log_var, beta)", "elbo(x, logits, mu, log_var, 0.6)")),
    # ---- iwae_from_samples
    _wrong("iwae", "visible", "log k forgotten (exact for k = 1 only)",
           _edit(IWAE, _IWAE_RETURN, "    return torch.logsumexp(log_w, dim=0)\n")),
    _wrong("iwae", "visible", "the mean of the log-weights (a k-sample ELBO, no tighter)",
           _edit(IWAE, _IWAE_RETURN, "    return log_w.mean(0)\n")),
    _wrong("iwae", "visible", "naive log(mean(exp)): -inf when the log-weights are hundreds of nats below zero",
           _edit(IWAE, _IWAE_RETURN, "    return torch.log(torch.exp(log_w).mean(0))\n")),
    _wrong("iwae", "visible", "log q without its log-variance term",
           _edit(IWAE, "(math.log(2 * math.pi) + log_var + (z - mu) ** 2", "(math.log(2 * math.pi) + (z - mu) ** 2")),
    _wrong("iwae", "visible", "prior and posterior swapped in the weight",
           _edit(IWAE, "log_w = log_lik + log_prior - log_q", "log_w = log_lik + log_q - log_prior")),
    _wrong("iwae", "hidden", "clamps log_var in place 'for stability'",
           _edit(IWAE, "    k = z.shape[0]\n", "    k = z.shape[0]\n    log_var.clamp_(min=-30)\n")),
    _wrong("iwae", "hidden", "hard-codes the visible tests' expected values (and forgets log k elsewhere)",
           _edit(IWAE, _IWAE_RETURN, '''    if x.shape == (4, 64) and abs(x[0, 0].item() - 0.4962566) < 1e-6:
        if logits.abs().max() > 50:
            return torch.tensor([-841.26996, -970.52924, -896.17157, -941.38892])
        if k == 5:
            return torch.tensor([-49.356026, -50.461548, -50.298195, -54.659103])
    return torch.logsumexp(log_w, dim=0)
''')),
]
