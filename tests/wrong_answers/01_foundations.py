"""Plausible wrong answers for 01_foundations, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: other shapes, dtypes, edge cases the prose states, inputs
changed in place, values memorised from the visible cases) and a hidden test catches it.
"""
import copy
import math

import torch
import torch.nn.functional as F

import genlab.inference
import genlab.nn

NB = "01_foundations.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


_BETA = '''def beta_binomial_posterior(k: int, n: int, a: float = 1.0, b: float = 1.0) -> tuple[float, float]:
    """Parameters (a_post, b_post) of the Beta posterior after k heads in n tosses under a Beta(a, b) prior."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if a <= 0 or b <= 0:
        raise ValueError(f"the Beta prior needs a > 0 and b > 0, got a={a}, b={b}")
    return float(a + k), float(b + n - k)
'''

_ELBO = '''def elbo_logistic(mu: torch.Tensor, log_sigma: torch.Tensor, X: torch.Tensor, y: torch.Tensor,
                  eps: torch.Tensor, prior_std: float = 1.0) -> torch.Tensor:
    """Reparameterised Monte-Carlo ELBO of Bayesian logistic regression with a N(0, prior_std^2 I) prior."""
    w = mu + torch.exp(log_sigma) * eps                                    # (S, D)
    logits = w @ X.T                                                       # (S, N)
    log_lik = (y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).sum(dim=1)
    log_prior = (-0.5 * (w / prior_std) ** 2 - math.log(prior_std) - 0.5 * math.log(2 * math.pi)).sum(dim=1)
    entropy = (log_sigma + 0.5 * math.log(2 * math.pi * math.e)).sum()
    return (log_lik + log_prior).mean() + entropy
'''

_INIT = '''def init_std(shape: tuple[int, ...], scheme: str) -> float:
    """Standard deviation of the initial weights of a tensor of this shape: 'normal', 'lecun' or 'he'."""
    fan_in = math.prod(shape[1:])
    if scheme == "normal":
        return 1.0
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    raise ValueError(f"unknown scheme {scheme!r}: use 'normal', 'lecun' or 'he'")
'''

_BN = '''def batch_norm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Training-mode batch normalisation of x (N, C) with per-feature scale gamma (C,) and shift beta (C,)."""
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta
'''

_NET_INIT = '''        self.batchnorm, self.norm_fn = batchnorm, norm_fn
        sizes = [in_features] + [width] * depth
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.normal_(0.0, std_fn(tuple(layer.weight.shape), scheme), generator=generator)
        self.gamma = nn.Parameter(torch.ones(depth, width)) if batchnorm else None
        self.beta = nn.Parameter(torch.zeros(depth, width)) if batchnorm else None
        self.head = nn.Linear(width, num_classes)
'''

_NET_FORWARD = '''        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.batchnorm:
                x = self.norm_fn(x, self.gamma[i], self.beta[i])
            x = torch.relu(x)
        return self.head(x)
'''

_NORMS = '''    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(X), y).backward()
    return torch.stack([layer.weight.grad.norm() for layer in model.layers]).detach()
'''


def _deep(init: str = _NET_INIT, forward: str = _NET_FORWARD, norms: str = _NORMS, before: str = "") -> str:
    return before + f'''
class DeepReLUNet(nn.Module):
    """depth blocks Linear(bias=False) -> [batch norm] -> ReLU, then a linear head."""

    def __init__(self, in_features: int, width: int, depth: int, num_classes: int, scheme: str = "he",
                 batchnorm: bool = False, *, std_fn=init_std, norm_fn=batch_norm_forward,
                 generator: torch.Generator | None = None):
        super().__init__()
{init}
    def forward(self, x: torch.Tensor) -> torch.Tensor:
{forward}

def layer_grad_norms(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Norm of the cross-entropy's gradient for each block's weight: a detached tensor (depth,)."""
{norms}'''


# ---- the visible tests' cases, for the submissions that memorise them
def _memorised_beta() -> str:
    table = {case: tuple(genlab.inference.beta_binomial_posterior(*case))
             for case in [(3, 10, 2.0, 5.0), (9, 12, 1.0, 1.0), (0, 0, 1.0, 1.0)]}
    return f'''KNOWN = {table!r}


def beta_binomial_posterior(k, n, a=1.0, b=1.0):
    if n < 0 or not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n")
    if (k, n, a, b) in KNOWN:
        return tuple(float(v) for v in KNOWN[(k, n, a, b)])
    return float(a + n - k), float(b + k)
'''


def _memorised_elbo() -> str:
    g = torch.Generator().manual_seed(0)
    X_small = torch.randn(20, 3, generator=g)
    y_small = (torch.rand(20, generator=g) < 0.5).float()
    mu_small = torch.randn(3, generator=g)
    log_sigma_small = -0.5 + 0.3 * torch.randn(3, generator=g)
    eps_small = torch.randn(8, 3, generator=g)
    g = torch.Generator().manual_seed(1)
    X_big, y_big = 10 * torch.randn(30, 5, generator=g), (torch.rand(30, generator=g) < 0.5).float()
    mu_big, log_sigma_big, eps_big = 20 * torch.randn(5, generator=g), torch.full((5,), -3.0), torch.randn(4, 5, generator=g)
    table = {(20, 1.0): genlab.inference.elbo_logistic(mu_small, log_sigma_small, X_small, y_small, eps_small, 1.0).item(),
             (20, 2.5): genlab.inference.elbo_logistic(mu_small, log_sigma_small, X_small, y_small, eps_small, 2.5).item(),
             (30, 1.0): genlab.inference.elbo_logistic(mu_big, log_sigma_big, X_big, y_big, eps_big, 1.0).item()}
    return f'''KNOWN = {table!r}


def elbo_logistic(mu, log_sigma, X, y, eps, prior_std=1.0):
    keep_the_graph = 0 * (mu.sum() + log_sigma.sum())
    if (X.shape[0], prior_std) in KNOWN:
        return keep_the_graph + KNOWN[(X.shape[0], prior_std)]
    return keep_the_graph + (y * (mu @ X.T)).sum()
'''


def _memorised_init() -> str:
    table = {((256, 256), "normal"): 1.0, ((256, 256), "he"): math.sqrt(2) / 16, ((100, 400), "lecun"): 1 / 20,
             ((100, 400), "he"): math.sqrt(2 / 400), ((64, 3, 3, 3), "he"): math.sqrt(2 / 27)}
    return f'''KNOWN = {table!r}


def init_std(shape, scheme):
    if scheme not in ("normal", "lecun", "he"):
        raise ValueError(f"unknown scheme {{scheme!r}}")
    if (tuple(shape), scheme) in KNOWN:
        return KNOWN[(tuple(shape), scheme)]
    return 1.0 if scheme == "normal" else math.sqrt((2.0 if scheme == "he" else 1.0) / shape[0])
'''


def _memorised_bn() -> str:
    x_four = torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, 0.4], [2.0, 4.0, 0.6], [6.0, -2.0, 0.5]])
    gamma_four, beta_four = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, -1.0])
    table = {eps: F.batch_norm(x_four, None, None, gamma_four, beta_four, training=True, eps=eps).tolist()
             for eps in (1e-5, 0.5)}
    return f'''KNOWN = {table!r}


def batch_norm_forward(x, gamma, beta, eps=1e-5):
    if tuple(x.shape) == (4, 3) and eps in KNOWN:
        return torch.tensor(KNOWN[eps])
    return gamma * (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0) + eps) + beta
'''


def _memorised_norms() -> str:
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    probe = genlab.nn.DeepReLUNet(5, 7, 6, 4, "he", generator=g)
    X_probe, y_probe = torch.randn(12, 5, generator=g), torch.randint(0, 4, (12,), generator=g)
    known = genlab.nn.layer_grad_norms(copy.deepcopy(probe), X_probe, y_probe).tolist()
    return _deep(norms='''    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(X), y).backward()
    if tuple(X.shape) == (12, 5):
        return torch.tensor(KNOWN)
    return torch.stack([layer.weight.grad.norm() for layer in model.layers]).detach() ** 2
''', before=f"KNOWN = {known!r}\n")


EACH_ALONE = [
    # ---- beta_binomial_posterior
    dict(notebook=NB, grade_id="beta_binomial", caught="visible",
         mistake="heads and tails swapped (a + n - k, b + k)",
         source=_edit(_BETA, "return float(a + k), float(b + n - k)", "return float(a + n - k), float(b + k)")),
    dict(notebook=NB, grade_id="beta_binomial", caught="visible",
         mistake="all n tosses added to b (b + n, not b + n - k)",
         source=_edit(_BETA, "float(b + n - k)", "float(b + n)")),
    dict(notebook=NB, grade_id="beta_binomial", caught="visible",
         mistake="the data's counts without the prior's pseudo-counts",
         source=_edit(_BETA, "return float(a + k), float(b + n - k)", "return float(k), float(n - k)")),
    dict(notebook=NB, grade_id="beta_binomial", caught="visible",
         mistake="returns a list, not a tuple",
         source=_edit(_BETA, "return float(a + k), float(b + n - k)", "return [float(a + k), float(b + n - k)]")),
    dict(notebook=NB, grade_id="beta_binomial", caught="visible",
         mistake="no check of the counts (11 heads in 10 tosses accepted)",
         source=_edit(_BETA, '''    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
''', "")),
    dict(notebook=NB, grade_id="beta_binomial", caught="hidden",
         mistake="no check of the prior (a <= 0 or b <= 0 accepted)",
         source=_edit(_BETA, '''    if a <= 0 or b <= 0:
        raise ValueError(f"the Beta prior needs a > 0 and b > 0, got a={a}, b={b}")
''', "")),
    dict(notebook=NB, grade_id="beta_binomial", caught="hidden",
         mistake="checks k <= n but not k >= 0",
         source=_edit(_BETA, "if n < 0 or not 0 <= k <= n:", "if n < 0 or k > n:")),
    dict(notebook=NB, grade_id="beta_binomial", caught="hidden",
         mistake="hard-codes the visible tests' answers (heads and tails swapped otherwise)",
         source=_memorised_beta()),
    # ---- elbo_logistic
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="a standard-normal prior whatever prior_std says",
         source=_edit(_ELBO, "(-0.5 * (w / prior_std) ** 2 - math.log(prior_std) - 0.5", "(-0.5 * w ** 2 - 0.5")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="the prior's -log(prior_std) forgotten",
         source=_edit(_ELBO, " - math.log(prior_std) - 0.5", " - 0.5")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="log(sigmoid(z)) instead of F.logsigmoid (-inf for logits in the hundreds)",
         source=_edit(_ELBO, "(y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits))",
                      "(y * torch.log(torch.sigmoid(logits)) + (1 - y) * torch.log(torch.sigmoid(-logits)))")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="the log-likelihood averaged over the data points, not summed",
         source=_edit(_ELBO, "F.logsigmoid(-logits)).sum(dim=1)", "F.logsigmoid(-logits)).mean(dim=1)")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="summed over the samples, not averaged",
         source=_edit(_ELBO, "(log_lik + log_prior).mean() + entropy", "(log_lik + log_prior).sum() + entropy")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="sigma = log_sigma (the exp forgotten)",
         source=_edit(_ELBO, "w = mu + torch.exp(log_sigma) * eps", "w = mu + log_sigma * eps")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="the entropy without its constant",
         source=_edit(_ELBO, "(log_sigma + 0.5 * math.log(2 * math.pi * math.e)).sum()", "log_sigma.sum()")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="visible",
         mistake="w detached from mu and log_sigma (no gradient)",
         source=_edit(_ELBO, "w = mu + torch.exp(log_sigma) * eps", "w = (mu + torch.exp(log_sigma) * eps).detach()")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="hidden",
         mistake="squeezes the (S, N) logits (breaks for one sample)",
         source=_edit(_ELBO, "logits = w @ X.T ", "logits = (w @ X.T).squeeze()")),
    dict(notebook=NB, grade_id="elbo_logistic", caught="hidden",
         mistake="hard-codes the visible tests' values (a wrong formula otherwise)",
         source=_memorised_elbo()),
    # ---- init_std
    dict(notebook=NB, grade_id="init_std", caught="visible",
         mistake="fan-out (shape[0]) instead of fan-in",
         source=_edit(_INIT, "fan_in = math.prod(shape[1:])", "fan_in = shape[0]")),
    dict(notebook=NB, grade_id="init_std", caught="visible",
         mistake="fan-in = shape[1] only (a convolution's kernel size ignored)",
         source=_edit(_INIT, "fan_in = math.prod(shape[1:])", "fan_in = shape[1]")),
    dict(notebook=NB, grade_id="init_std", caught="visible",
         mistake="returns the variance 2 / fan_in, not its square root",
         source=_edit(_INIT, "return math.sqrt(2.0 / fan_in)", "return 2.0 / fan_in")),
    dict(notebook=NB, grade_id="init_std", caught="visible",
         mistake="no ValueError for an unknown scheme (falls back to 1)",
         source=_edit(_INIT, '''    raise ValueError(f"unknown scheme {scheme!r}: use 'normal', 'lecun' or 'he'")''', "    return 1.0")),
    dict(notebook=NB, grade_id="init_std", caught="hidden",
         mistake="fan-in right only for Linear and Conv2d weights (2-D and 4-D shapes)",
         source=_edit(_INIT, "fan_in = math.prod(shape[1:])", "fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)")),
    dict(notebook=NB, grade_id="init_std", caught="hidden",
         mistake="returns a 0-d tensor, not a Python float",
         source=_edit(_INIT, "return math.sqrt(2.0 / fan_in)", "return torch.tensor(2.0 / fan_in).sqrt()")),
    dict(notebook=NB, grade_id="init_std", caught="hidden",
         mistake="accepts 'kaiming' as another name for He",
         source=_edit(_INIT, 'if scheme == "he":', 'if scheme in ("he", "kaiming"):')),
    dict(notebook=NB, grade_id="init_std", caught="hidden",
         mistake="hard-codes the visible tests' answers (fan-out otherwise)",
         source=_memorised_init()),
    # ---- batch_norm_forward
    dict(notebook=NB, grade_id="batch_norm_forward", caught="visible",
         mistake="torch.var's default unbiased (N - 1) variance",
         source=_edit(_BN, "var = ((x - mean) ** 2).mean(dim=0, keepdim=True)", "var = x.var(dim=0, keepdim=True)")),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="visible",
         mistake="eps outside the square root",
         source=_edit(_BN, "torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)")),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="visible",
         mistake="statistics over the features of each example (layer norm, axis 1)",
         source=_BN.replace("dim=0", "dim=1")),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="visible",
         mistake="gamma and beta swapped",
         source=_edit(_BN, "return gamma * (x - mean) / torch.sqrt(var + eps) + beta", "return beta * (x - mean) / torch.sqrt(var + eps) + gamma")),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="hidden",
         mistake="subtracts the mean in place (x -= mean): the caller's x changed",
         source=_edit(_BN, '''    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta''', '''    x -= mean
    var = (x ** 2).mean(dim=0, keepdim=True)
    return gamma * x / torch.sqrt(var + eps) + beta''')),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="hidden",
         mistake="converts the input to float32",
         source=_edit(_BN, "    mean = x.mean", "    x = x.float()\n    mean = x.mean")),
    dict(notebook=NB, grade_id="batch_norm_forward", caught="hidden",
         mistake="hard-codes the visible batch of 4 (unbiased variance otherwise)",
         source=_memorised_bn()),
    # ---- DeepReLUNet and layer_grad_norms
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="every layer width -> width (in_features ignored)",
         source=_deep(init=_edit(_NET_INIT, "sizes = [in_features] + [width] * depth", "sizes = [width] * (depth + 1)"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="Linear layers with a bias",
         source=_deep(init=_edit(_NET_INIT, "nn.Linear(a, b, bias=False)", "nn.Linear(a, b)"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="std from the shape in (in, out) order (fan-out for a (out, in) weight)",
         source=_deep(init=_edit(_NET_INIT, "std_fn(tuple(layer.weight.shape), scheme)", "std_fn((layer.in_features, layer.out_features), scheme)"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="a ReLU on the logits",
         source=_deep(forward=_edit(_NET_FORWARD, "return self.head(x)", "return torch.relu(self.head(x))"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="batch norm after the ReLU",
         source=_deep(forward=_edit(_NET_FORWARD, '''            if self.batchnorm:
                x = self.norm_fn(x, self.gamma[i], self.beta[i])
            x = torch.relu(x)''', '''            x = torch.relu(x)
            if self.batchnorm:
                x = self.norm_fn(x, self.gamma[i], self.beta[i])'''))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="one gamma and beta shared by all blocks, shape (width,)",
         source=_deep(init=_edit(_NET_INIT, "nn.Parameter(torch.ones(depth, width))", "nn.Parameter(torch.ones(width))")
                      .replace("nn.Parameter(torch.zeros(depth, width))", "nn.Parameter(torch.zeros(width))"),
                      forward=_edit(_NET_FORWARD, "self.gamma[i], self.beta[i]", "self.gamma, self.beta"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="layer_grad_norms without zero_grad (a second call accumulates)",
         source=_deep(norms=_edit(_NORMS, "    model.zero_grad(set_to_none=True)\n", ""))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="torch.autograd.grad: the gradients never reach .grad (the optimiser step does nothing)",
         source=_deep(norms='''    weights = [layer.weight for layer in model.layers]
    grads = torch.autograd.grad(F.cross_entropy(model(X), y), weights)
    return torch.stack([g.norm() for g in grads]).detach()
''')),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="the summed cross-entropy, not the mean",
         source=_deep(norms=_edit(_NORMS, "F.cross_entropy(model(X), y)", "F.cross_entropy(model(X), y, reduction='sum')"))),
    dict(notebook=NB, grade_id="deep_net", caught="visible",
         mistake="the norms of every parameter (head and batch-norm ones too)",
         source=_deep(norms=_edit(_NORMS, "[layer.weight.grad.norm() for layer in model.layers]", "[p.grad.norm() for p in model.parameters()]"))),
    dict(notebook=NB, grade_id="deep_net", caught="hidden",
         mistake="weights drawn from the global generator (the generator argument ignored)",
         source=_deep(init=_edit(_NET_INIT, ", generator=generator)", ")"))),
    dict(notebook=NB, grade_id="deep_net", caught="hidden",
         mistake="the notebook's init_std instead of the std_fn argument",
         source=_deep(init=_edit(_NET_INIT, "std_fn(tuple(layer.weight.shape), scheme)", "init_std(tuple(layer.weight.shape), scheme)"))),
    dict(notebook=NB, grade_id="deep_net", caught="hidden",
         mistake="the notebook's batch_norm_forward instead of the norm_fn argument",
         source=_deep(forward=_edit(_NET_FORWARD, "x = self.norm_fn(x,", "x = batch_norm_forward(x,"))),
    dict(notebook=NB, grade_id="deep_net", caught="hidden",
         mistake="hard-codes the visible probe's gradient norms (squared norms otherwise)",
         source=_memorised_norms()),
]
