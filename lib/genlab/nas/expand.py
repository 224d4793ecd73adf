"""Self-expanding networks (Mitchell, Mundt & Kersting 2023). Introduced in 09_self_expanding.

A network starts with one hidden neuron and adds neurons during training, only when the
gradient says that a new neuron would let the loss fall substantially further. Four pieces:

- **the natural expansion score** ``eta = g^T F^-1 g``: ``g`` is the loss gradient and ``F`` the
  Fisher information of the parameters it is taken over. ``eta / 2`` is the loss decrease that
  one natural-gradient step predicts, so a candidate neuron is worth its *gain*
  ``eta' - eta``: the extra predicted decrease that its parameters would buy;
- **function-preserving growth**: the new neuron gets zero outgoing weights, so the network
  computes exactly the same function right after growing (``add_neuron``); ``GrowingAdam`` keeps a
  step count per entry, so ``grow`` starts the new weights as new (zero moments, step 0);
- **when to grow**: only if the best of a batch of random candidates raises the readout's score by
  a factor (``gain > tau * eta``, the paper's relative rule) *and* promises a loss decrease of at
  least ``min_gain`` nats (``gain / 2 > min_gain``, a price whose value this project chose; the
  authors' code has an absolute threshold too: ``abs_thresh`` = 2.5e-3 on the gain divided by the
  squared norm of the loss's gradient at the outputs, ``senn_mlp/experiment2.py``), so growth
  stops once no neuron can buy a meaningful decrease (``should_grow``; ``choose_candidate`` takes
  the decision at each check, and ``train_expanding(decide=...)`` accepts another one);
- **memory**: dense vs sparse (COO / CSR) storage of weights and the break-even density
  (training with sparse weights: ``sparse_training``).

What is approximated, compared with the paper. The growth loop scores only the *readout* layer
plus the candidate's outgoing weights, with the exact Fisher there (``candidate_gains``): for
softmax cross-entropy and a readout that is linear in its parameters, the Fisher equals the
Hessian, so ``eta / 2`` is the exact Newton decrement of that convex sub-problem. The paper scores
every layer with a Kronecker-factored (K-FAC) Fisher; ``kfac_gains`` computes that score (checked
against the explicit Kronecker matrices), and ``ExpandConfig(score="kfac")`` grows with it. The candidate's incoming
weights add nothing at the moment of growth (their gradient is zero because the outgoing weights
are), which is why they are *chosen* to maximise the gain: the paper optimises them, we take the
best of random draws. ``F`` is computed on the whole (small) training set and damped by
``damping * I``; with weight decay ``wd`` the penalty ``wd/2 |theta|^2`` adds ``wd * theta`` to
``g`` and ``wd * I`` to ``F``. Only the width of the one hidden layer grows here;
``expand_deep`` grows every hidden layer and inserts layers (depth), scored with K-FAC over all
layers, and ``sparse_training`` trains pruned layers as ``torch.sparse`` CSR tensors.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import Budget

LAYOUTS = ("dense", "coo", "csr")


# ----------------------------------------------------------------------------- the score
def natural_expansion_score(g: torch.Tensor, fisher: torch.Tensor, damping: float = 1e-3) -> torch.Tensor:
    """``eta = g^T (F + damping * I)^-1 g`` for a gradient ``g (..., P)`` and a Fisher ``F (..., P, P)``.

    Leading dimensions broadcast, so a batch of candidates is scored in one call. ``eta >= 0``
    for a positive semi-definite ``F``, and ``eta = 0`` exactly when ``g = 0``. The damping
    keeps the solve well posed when ``F`` is singular (it always is for a softmax: adding one
    constant to every logit changes nothing).
    """
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if g.ndim < 1 or fisher.ndim < 2 or fisher.shape[-1] != fisher.shape[-2] or fisher.shape[-1] != g.shape[-1]:
        raise ValueError(f"need g (..., P) and a square fisher (..., P, P), "
                         f"got {tuple(g.shape)} and {tuple(fisher.shape)}")
    eye = torch.eye(g.shape[-1], dtype=fisher.dtype, device=fisher.device)
    solved = torch.linalg.solve(fisher + damping * eye, g.unsqueeze(-1)).squeeze(-1)
    return (g * solved).sum(-1)


def _with_bias(h: torch.Tensor) -> torch.Tensor:
    return torch.cat([h, torch.ones_like(h[:, :1])], dim=1)


def _softmax_fisher(logits: torch.Tensor) -> torch.Tensor:
    """Per-example Fisher of the logits, ``diag(p) - p p^T`` (N, C, C)."""
    p = torch.softmax(logits, dim=1)
    return torch.diag_embed(p) - p[:, :, None] * p[:, None, :]


def readout_fisher(h: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ``g`` and exact Fisher ``F`` of the mean cross-entropy w.r.t. a linear readout.

    The readout maps hidden features ``h (N, H)`` to ``logits (N, C)`` with weights ``W (C, H)``
    and bias ``b (C,)``; its parameters are the rows of ``[W | b]`` flattened, ``P = C (H + 1)``.
    Per example, ``d loss / d logits = p - onehot(y)`` and the Fisher of the logits is
    ``diag(p) - p p^T``; both are pulled back through ``h~ = [h, 1]``:
    ``g = mean_n (p_n - e_yn) (x) h~_n`` and ``F = mean_n (diag p_n - p_n p_n^T) (x) h~_n h~_n^T``.
    Computed in float64.
    """
    if h.ndim != 2 or logits.ndim != 2 or y.ndim != 1 or not len(h) == len(logits) == len(y):
        raise ValueError(f"need h (N, H), logits (N, C), y (N,), got {tuple(h.shape)}, "
                         f"{tuple(logits.shape)}, {tuple(y.shape)}")
    h1, logits = _with_bias(h.double()), logits.double()
    n, c, k = len(h1), logits.shape[1], h1.shape[1]
    residual = torch.softmax(logits, dim=1) - F.one_hot(y, c).double()
    g = (residual.T @ h1 / n).reshape(-1)
    cov = _softmax_fisher(logits).reshape(n, c * c)
    outer = (h1[:, :, None] * h1[:, None, :]).reshape(n, k * k)
    fisher = (cov.T @ outer / n).reshape(c, c, k, k).permute(0, 2, 1, 3).reshape(c * k, c * k)
    return g, fisher


def readout_parameters(layer: nn.Linear) -> torch.Tensor:
    """The readout's parameters flattened in ``readout_fisher``'s order: rows of ``[W | b]``."""
    return torch.cat([layer.weight, layer.bias[:, None]], dim=1).reshape(-1)


def candidate_gains(h: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, u: torch.Tensor,
                    damping: float = 1e-3, weight_decay: float = 0.0,
                    theta: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Score ``eta`` of the current readout and the gain ``eta' - eta`` of each candidate neuron.

    ``u (N, M)`` holds the activations of ``M`` candidate neurons on the same ``N`` examples.
    Candidate ``m`` adds ``C`` parameters, its outgoing weights (zero at first), with gradient
    ``g_m = mean_n (p_n - e_yn) u_nm``. With the damped current Fisher ``A``, the cross block
    ``B_m`` and the new block ``D_m``, block elimination (the Schur complement) gives
    ``eta' - eta = r^T S^-1 r`` with ``r = g_m - B_m^T A^-1 g`` and ``S = D_m - B_m^T A^-1 B_m``:
    what the candidate can do that the existing readout cannot, never negative, with no
    ``(P + C)``-sized solve per candidate. ``weight_decay`` needs ``theta = readout_parameters``.
    """
    if u.ndim != 2 or len(u) != len(h):
        raise ValueError(f"need candidate activations u (N, M) with N = {len(h)}, got {tuple(u.shape)}")
    g, fisher = readout_fisher(h, logits, y)
    if weight_decay:
        if theta is None or theta.numel() != g.numel():
            raise ValueError(f"weight_decay needs the readout parameters theta ({g.numel()} numbers)")
        g = g + weight_decay * theta.detach().double().reshape(-1)
        damping = damping + weight_decay
    h1, logits, u = _with_bias(h.double()), logits.double(), u.double()
    n, c, k = len(h1), logits.shape[1], h1.shape[1]
    cov = _softmax_fisher(logits)
    residual = torch.softmax(logits, dim=1) - F.one_hot(y, c).double()
    chol = torch.linalg.cholesky(fisher + damping * torch.eye(c * k, dtype=torch.float64))
    a_inv_g = torch.cholesky_solve(g[:, None], chol).squeeze(1)
    eta = g @ a_inv_g
    g_new = u.T @ residual / n                                                      # (M, C)
    cross = torch.einsum("nab,ni,nm->maib", cov, h1, u).reshape(-1, c * k, c) / n   # (M, P, C)
    new = torch.einsum("nab,nm->mab", cov, u * u) / n + damping * torch.eye(c, dtype=torch.float64)
    r = g_new - torch.einsum("mpc,p->mc", cross, a_inv_g)
    schur = new - cross.transpose(1, 2) @ torch.cholesky_solve(cross, chol)
    gains = (r * torch.linalg.solve(schur, r.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return eta, gains.clamp_min(0.0)


def _kfac_eta(grad: torch.Tensor, a: torch.Tensor, s: torch.Tensor, damping: float) -> torch.Tensor:
    """``vec(G)^T (A (x) S + damping I)^-1 vec(G)`` for a layer gradient ``G (out, in)`` and Kronecker
    factors ``A (in, in)``, ``S (out, out)``: in the eigenbases of ``A`` and ``S`` the matrix is diagonal,
    ``lambda_S_i lambda_A_j + damping``. ``grad`` may carry leading batch dimensions (with ``a``)."""
    la, qa = torch.linalg.eigh(a)
    ls, qs = torch.linalg.eigh(s)
    rotated = qs.transpose(-1, -2) @ grad @ qa
    return (rotated ** 2 / (ls[..., :, None] * la[..., None, :] + damping)).sum((-1, -2))


def kfac_gains(model: "ExpandingMLP", X: torch.Tensor, y: torch.Tensor, u: torch.Tensor, damping: float = 1e-3,
               weight_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The natural expansion score of **all** layers and the gain of each candidate, with the paper's
    Kronecker-factored (K-FAC) Fisher: block-diagonal over the layers, each block ``A (x) S``.

    For a layer with input ``a`` (with a 1 appended for the bias) and pre-activation ``s``,
    ``A = mean_n a_n a_n^T`` and ``S = mean_n E_yhat[d_n d_n^T]`` with ``d_n`` the gradient of
    ``log p(yhat | x_n)`` w.r.t. ``s``; the expectation over the model's own labels ``yhat`` is exact:
    ``S_out = mean_n (diag p_n - p_n p_n^T)`` for the readout and ``S_in = mean_n B_n^T (diag p_n -
    p_n p_n^T) B_n`` for the hidden layer, with ``B_n = W_out diag(1 - h_n^2)``. Each layer scores
    ``eta_l = vec(G_l)^T (A_l (x) S_l + lambda I)^-1 vec(G_l)`` with its mean gradient ``G_l``, and
    ``eta = eta_in + eta_out``. Candidate ``m`` (activations ``u[:, m]``) is a new input of the readout
    with zero outgoing weights: it extends ``A_out`` by one row and column and ``G_out`` by one column
    (its incoming weights have zero gradient and zero Fisher at ``v = 0``), and its gain is
    ``eta'_out - eta_out >= 0``. Weight decay ``wd`` adds ``wd * theta`` to every gradient and ``wd``
    to the damping ``lambda``. Returns ``(eta, gains (M,), eta_per_layer (2,))``, in float64.
    """
    if u.ndim != 2 or len(u) != len(X):
        raise ValueError(f"need candidate activations u (N, M) with N = {len(X)}, got {tuple(u.shape)}")
    lam = damping + weight_decay
    w1, b1, w2, b2 = (p.detach().double() for p in (model.fc_in.weight, model.fc_in.bias,
                                                     model.fc_out.weight, model.fc_out.bias))
    x1, u = _with_bias(X.double()), u.double()
    h = torch.tanh(x1[:, :-1] @ w1.T + b1)
    h1 = _with_bias(h)
    p = torch.softmax(h @ w2.T + b2, dim=1)
    n, c = p.shape
    resid = p - F.one_hot(y, c).double()                                   # d loss / d logits
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]              # (N, C, C)
    back = w2[None] * (1 - h * h)[:, None, :]                              # B_n (N, C, H)
    g_out = resid.T @ h1 / n + weight_decay * torch.cat([w2, b2[:, None]], 1)
    g_in = torch.einsum("nc,nch->nh", resid, back).T @ x1 / n + weight_decay * torch.cat([w1, b1[:, None]], 1)
    a_in, a_out = x1.T @ x1 / n, h1.T @ h1 / n
    s_in = torch.einsum("nci,ncd,ndj->ij", back, cov, back) / n
    s_out = cov.mean(0)
    eta_in, eta_out = _kfac_eta(g_in, a_in, s_in, lam), _kfac_eta(g_out, a_out, s_out, lam)
    m, k = u.shape[1], h1.shape[1]
    a_new = torch.empty(m, k + 1, k + 1, dtype=torch.float64)              # A_out extended by each candidate
    a_new[:, :k, :k] = a_out
    cross = u.T @ h1 / n                                                   # (M, K)
    a_new[:, k, :k], a_new[:, :k, k] = cross, cross
    a_new[:, k, k] = (u * u).mean(0)
    g_new = torch.cat([g_out.expand(m, c, k), (resid.T @ u / n).T[:, :, None]], dim=2)   # (M, C, K + 1)
    gains = _kfac_eta(g_new, a_new, s_out.expand(m, c, c), lam) - eta_out
    return eta_in + eta_out, gains.clamp_min(0.0), torch.stack([eta_in, eta_out])


# ----------------------------------------------------------------------------- the network
class ExpandingMLP(nn.Module):
    """``x -> tanh(fc_in x) -> fc_out``: one hidden layer whose width grows with ``grow``."""

    def __init__(self, in_features: int, width: int, out_features: int):
        super().__init__()
        if min(in_features, width, out_features) < 1:
            raise ValueError(f"sizes must be >= 1, got {in_features}, {width}, {out_features}")
        self.fc_in = nn.Linear(in_features, width)
        self.fc_out = nn.Linear(width, out_features)

    @property
    def width(self) -> int:
        return self.fc_in.out_features

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc_in(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(self.hidden(x))


def add_neuron(fc_in: nn.Linear, fc_out: nn.Linear, w_in: torch.Tensor,
               b_in: float | torch.Tensor) -> tuple[nn.Linear, nn.Linear]:
    """New copies of two consecutive layers with one more hidden neuron, appended last.

    The neuron's incoming weights are ``w_in`` and its bias ``b_in``; its outgoing weights are
    zero, so the pair computes exactly the same function as before. The old layers are left
    untouched.
    """
    if fc_in.out_features != fc_out.in_features:
        raise ValueError(f"fc_in has {fc_in.out_features} outputs but fc_out has {fc_out.in_features} inputs")
    if fc_in.bias is None or fc_out.bias is None:
        raise ValueError("add_neuron expects layers with biases")
    w_in = torch.as_tensor(w_in, dtype=fc_in.weight.dtype).reshape(-1)
    if w_in.numel() != fc_in.in_features:
        raise ValueError(f"w_in needs {fc_in.in_features} weights, got {w_in.numel()}")
    b_in = torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(-1)
    if b_in.numel() != 1:
        raise ValueError(f"b_in is one number, got {b_in.numel()}")
    width = fc_in.out_features
    new_in = nn.Linear(fc_in.in_features, width + 1).to(fc_in.weight)
    new_out = nn.Linear(width + 1, fc_out.out_features).to(fc_out.weight)
    with torch.no_grad():
        new_in.weight.copy_(torch.cat([fc_in.weight, w_in[None]], dim=0))
        new_in.bias.copy_(torch.cat([fc_in.bias, b_in]))
        new_out.weight.copy_(torch.cat([fc_out.weight, torch.zeros_like(fc_out.weight[:, :1])], dim=1))
        new_out.bias.copy_(fc_out.bias)
    return new_in, new_out


def _pad_like(old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(new)
    out[tuple(slice(0, s) for s in old.shape)] = old
    return out


class GrowingAdam(torch.optim.Optimizer):
    """Adam (Kingma & Ba 2015) with a step count **per entry**, so that weights added by ``grow``
    start as new weights.

    PyTorch's ``torch.optim.Adam`` keeps one step count ``t`` per parameter tensor and divides the
    moments by ``1 - beta^t``. A weight appended to a tensor that has already taken ``t`` steps would
    inherit that ``t``: its first update would be
    ``lr sign(g) (1 - b1) / (1 - b1^t) / sqrt((1 - b2) / (1 - b2^t))``, 1.35 lr at ``t = 200`` and
    3.16 lr for large ``t`` (``b1 = 0.9, b2 = 0.999``), instead of Adam's first step ``lr sign(g)``,
    and the next ones stay too large until its second moment has caught up: a kick. Here ``state["step"]`` has the shape
    of the parameter, and ``grow`` pads it (and both moments) with zeros, so a new entry's first
    update is exactly a fresh Adam step while the old entries keep their moments and counts. With
    equal counts everywhere it computes exactly what ``torch.optim.Adam`` computes (tested).
    ``weight_decay`` adds ``wd * theta`` to the gradient, the L2 penalty ``wd/2 |theta|^2``, as
    ``torch.optim.Adam`` does.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        if lr <= 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"need lr > 0, eps >= 0, weight_decay >= 0 and betas in [0, 1), "
                             f"got {lr}, {eps}, {weight_decay}, {betas}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"]:
                    grad = grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros_like(p)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias1 = (1 - beta1 ** state["step"].double()).to(p.dtype)   # in float64, as torch.optim.Adam
                bias2 = (1 - beta2 ** state["step"].double()).to(p.dtype)
                denom = (state["exp_avg_sq"] / bias2).sqrt_().add_(group["eps"])
                p.addcdiv_(state["exp_avg"] / bias1, denom, value=-group["lr"])
        return loss


def grow(model: ExpandingMLP, w_in: torch.Tensor, b_in: float | torch.Tensor,
         optimizer: GrowingAdam | None = None) -> ExpandingMLP:
    """Add one neuron to ``model`` in place (``add_neuron``), carrying ``optimizer``'s state over.

    The optimiser must be a ``GrowingAdam``: the old entries keep their moments and their own step
    counts; the new row of ``fc_in`` (weights and bias) and the new column of ``fc_out`` get zero
    moments **and a zero step count**, so their first update is a fresh, bias-corrected Adam step
    (``lr * sign(g)``), not one scaled by the old tensor's count. ``torch.optim.Adam`` keeps one
    count per tensor and cannot do this, so it is refused.
    """
    if optimizer is not None and not isinstance(optimizer, GrowingAdam):
        raise TypeError(f"grow needs a GrowingAdam (a step count per entry), got {type(optimizer).__name__}: "
                        "torch.optim.Adam would give the new weights the old tensor's step count")
    old = [model.fc_in.weight, model.fc_in.bias, model.fc_out.weight, model.fc_out.bias]
    model.fc_in, model.fc_out = add_neuron(model.fc_in, model.fc_out, w_in, b_in)
    new = [model.fc_in.weight, model.fc_in.bias, model.fc_out.weight, model.fc_out.bias]
    if optimizer is not None:
        swap = {id(o): n for o, n in zip(old, new)}
        for group in optimizer.param_groups:
            group["params"] = [swap.get(id(p), p) for p in group["params"]]
        for o, n in zip(old, new):
            state = optimizer.state.pop(o, None)
            if state:
                optimizer.state[n] = {key: _pad_like(v, n) for key, v in state.items()}
    return model


# ----------------------------------------------------------------------------- growing
@dataclass
class ExpandConfig:
    """Knobs of ``train_expanding`` (and of the fixed-width baseline ``train_fixed``)."""

    max_steps: int = 1500          # full-batch Adam steps in all
    lr: float = 0.03
    weight_decay: float = 1e-3     # L2 penalty wd/2 |theta|^2; also part of the score's damping
    check_every: int = 25          # steps between expansion checks
    num_candidates: int = 64       # random candidate neurons scored at each check
    init_scale: float = 2.0        # candidate incoming weights ~ N(0, init_scale^2 / in_features)
    tau: float = 1.0               # relative rule: grow only if gain > tau * eta
    min_gain: float = 0.005        # absolute rule: ... and gain / 2 > min_gain nats
    score: str = "readout"         # "readout": exact readout Fisher; "kfac": all layers, K-FAC (the paper's)
    damping: float = 1e-3          # numerical damping of the Fisher, on top of weight_decay
    max_width: int = 64

    def __post_init__(self) -> None:
        if min(self.max_steps, self.check_every, self.num_candidates, self.max_width) < 1:
            raise ValueError("max_steps, check_every, num_candidates and max_width must be >= 1")
        if self.lr <= 0 or self.init_scale <= 0 or self.damping <= 0:
            raise ValueError("lr, init_scale and damping must be > 0")
        if self.tau < 0 or self.min_gain < 0 or self.weight_decay < 0:
            raise ValueError("tau, min_gain and weight_decay must be >= 0")
        if self.score not in ("readout", "kfac"):
            raise ValueError(f"score must be 'readout' or 'kfac', got {self.score!r}")


@dataclass
class GrowthHistory:
    """One record per expansion check: the step, the width after it, the loss before it, the
    score ``eta``, the best candidate's ``gain`` and whether the network grew."""

    step: list[int] = field(default_factory=list)
    width: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)
    gain: list[float] = field(default_factory=list)
    grew: list[bool] = field(default_factory=list)
    max_diff: list[float] = field(default_factory=list)   # max |output change| at each growth (float64)
    seconds: float = 0.0

    @property
    def growth_steps(self) -> list[int]:
        return [s for s, g in zip(self.step, self.grew) if g]


def sample_candidates(X: torch.Tensor, num: int, scale: float,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random incoming weights ``(num, in_features)`` and biases ``(num,)`` of candidate neurons.

    Each candidate's hyperplane ``w . x + b = 0`` passes through a random training point, so it
    cuts the data somewhere instead of saturating on all of it.
    """
    if num < 1 or scale <= 0:
        raise ValueError(f"need num >= 1 and scale > 0, got {num}, {scale}")
    w = torch.randn(num, X.shape[1], generator=generator) * scale / math.sqrt(X.shape[1])
    anchors = X[torch.randint(len(X), (num,), generator=generator)]
    return w, -(w * anchors).sum(1)


def score_candidates(model: ExpandingMLP, X: torch.Tensor, y: torch.Tensor, config: ExpandConfig,
                     generator: torch.Generator) -> tuple[float, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Score the network and ``config.num_candidates`` random candidates on ``(X, y)``: the readout
    with its exact Fisher (``candidate_gains``, ``config.score = "readout"``) or all layers with the
    paper's K-FAC Fisher (``kfac_gains``, ``config.score = "kfac"``).

    Returns ``(eta, gains (M,), w_in (M, d), b_in (M,))``: every candidate's gain and its weights.
    """
    w, b = sample_candidates(X, config.num_candidates, config.init_scale, generator)
    with torch.no_grad():
        u = torch.tanh(X @ w.T + b)
        if config.score == "kfac":
            eta, gains, _ = kfac_gains(model, X, y, u, config.damping, config.weight_decay)
        else:
            h = model.hidden(X)
            eta, gains = candidate_gains(h, model.fc_out(h), y, u, config.damping, config.weight_decay,
                                         readout_parameters(model.fc_out))
    return float(eta), gains, w, b


def expansion_check(model: ExpandingMLP, X: torch.Tensor, y: torch.Tensor, config: ExpandConfig,
                    generator: torch.Generator) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    """``score_candidates`` reduced to the best candidate: ``(eta, best_gain, w_in, b_in)``."""
    eta, gains, w, b = score_candidates(model, X, y, config, generator)
    best = int(gains.argmax())
    return eta, float(gains[best]), w[best], b[best]


def should_grow(eta: float, gain: float, config: ExpandConfig) -> bool:
    """The growth rule: a relative increase of the score (as in the paper), ``eta' > (1 + tau) eta``,
    and an absolute one, a predicted loss decrease ``gain / 2`` above ``min_gain`` nats."""
    return gain > config.tau * eta and gain / 2 > config.min_gain


def choose_candidate(eta: float | torch.Tensor, gains: torch.Tensor, tau: float, min_gain: float) -> int | None:
    """The decision at one expansion check: the index of the candidate to add, or ``None``.

    The best candidate (largest gain ``eta' - eta``; the first of equal ones) is added only if it passes
    both rules of ``should_grow``: ``gain > tau * eta`` (the paper's relative rule, on the gain, not on
    ``eta'``) and ``gain / 2 > min_gain`` (its predicted loss decrease, half the gain, above the price).
    No candidates, no growth. ``gains`` is not modified.
    """
    gains = torch.as_tensor(gains)
    if gains.numel() == 0:
        return None
    best = int(gains.reshape(-1).argmax())
    gain = float(gains.reshape(-1)[best])
    return best if gain > tau * float(eta) and gain / 2 > min_gain else None


def _adam_step(model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> None:
    loss = F.cross_entropy(model(X), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _adam(model: nn.Module, config: ExpandConfig) -> GrowingAdam:
    # weight_decay adds wd * theta to the gradient: the L2 penalty wd/2 |theta|^2.
    return GrowingAdam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def train_expanding(X: torch.Tensor, y: torch.Tensor, num_classes: int, config: ExpandConfig | None = None,
                    seed: int = 0, start_width: int = 1, decide=None) -> tuple[ExpandingMLP, GrowthHistory]:
    """Train an ``ExpandingMLP`` from ``start_width`` neurons with full-batch Adam for
    ``config.max_steps`` steps; every ``config.check_every`` steps, add the candidate neuron that
    ``decide(eta, gains, config.tau, config.min_gain)`` picks (an index, or ``None`` for no growth;
    default ``choose_candidate``: the best one, if ``should_grow`` says so), at most one per check and
    never beyond ``config.max_width``."""
    config = config or ExpandConfig()
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    model = ExpandingMLP(X.shape[1], start_width, num_classes)
    optimizer = _adam(model, config)
    history, budget = GrowthHistory(), Budget(None)     # a stopwatch: every step runs
    for step in range(config.max_steps):
        if step % config.check_every == 0:
            _check_and_grow(model, optimizer, X, y, config, generator, step, history, decide or choose_candidate)
        _adam_step(model, optimizer, X, y)
    history.seconds = budget.elapsed
    return model.eval(), history


def _check_and_grow(model: ExpandingMLP, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor,
                    config: ExpandConfig, generator: torch.Generator, step: int, history: GrowthHistory,
                    decide) -> None:
    eta, gains, w, b = score_candidates(model, X, y, config, generator)
    gain = float(gains.max())
    with torch.no_grad():
        before = model(X)
        before64 = copy.deepcopy(model).double()(X.double())
    choice = decide(eta, gains.clone(), config.tau, config.min_gain) if model.width < config.max_width else None
    if choice is not None and (isinstance(choice, bool) or not 0 <= int(choice) < len(gains)):
        raise ValueError(f"decide must return a candidate index in [0, {len(gains)}) or None, got {choice!r}")
    grew = choice is not None
    if grew:
        grow(model, w[int(choice)], b[int(choice)], optimizer)
        with torch.no_grad():   # in float64: float32 kernels may sum a longer row in another order
            history.max_diff.append(float((copy.deepcopy(model).double()(X.double()) - before64).abs().max()))
    history.step.append(step)
    history.width.append(model.width)
    history.loss.append(float(F.cross_entropy(before, y)))
    history.eta.append(eta)
    history.gain.append(gain)
    history.grew.append(grew)


def train_full_batch(model: nn.Module, X: torch.Tensor, y: torch.Tensor, config: ExpandConfig | None = None,
                     max_steps: int | None = None) -> nn.Module:
    """``max_steps`` (default ``config.max_steps``) full-batch Adam steps on the cross-entropy, with a
    fresh optimiser."""
    config = config or ExpandConfig()
    # nothing grows here, so torch's (faster) Adam computes what GrowingAdam would (tested)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for _ in range(config.max_steps if max_steps is None else max_steps):
        _adam_step(model, optimizer, X, y)
    return model.eval()


def train_fixed(X: torch.Tensor, y: torch.Tensor, num_classes: int, width: int,
                config: ExpandConfig | None = None, seed: int = 0) -> ExpandingMLP:
    """The baseline: the same network, optimiser and number of steps at a fixed ``width``."""
    torch.manual_seed(seed)
    return train_full_batch(ExpandingMLP(X.shape[1], width, num_classes), X, y, config)


# ----------------------------------------------------------------------------- memory
def sparse_memory_bytes(shape: Sequence[int], nnz: int, layout: str = "coo",
                        value_bytes: int = 4, index_bytes: int = 8) -> int:
    """Bytes to store a ``(rows, cols)`` matrix with ``nnz`` non-zeros as dense, COO or CSR.

    dense: every entry, ``rows * cols * value_bytes``. COO: per non-zero its value and its
    (row, col) pair, ``nnz * (value_bytes + 2 * index_bytes)``. CSR: per non-zero its value and
    column, plus ``rows + 1`` row pointers. PyTorch's indices are int64 (8 bytes) by default.
    """
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError(f"shape must be (rows, cols) with sizes >= 0, got {tuple(shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    if not 0 <= nnz <= rows * cols:
        raise ValueError(f"nnz must be in [0, rows * cols = {rows * cols}], got {nnz}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "dense":
        return rows * cols * value_bytes
    if layout == "coo":
        return nnz * (value_bytes + 2 * index_bytes)
    return nnz * (value_bytes + index_bytes) + (rows + 1) * index_bytes


def break_even_density(shape: Sequence[int], layout: str = "coo", value_bytes: int = 4,
                       index_bytes: int = 8) -> float:
    """The density ``nnz / (rows * cols)`` below which ``layout`` takes less memory than dense.

    COO: ``value / (value + 2 index)`` (0.2 for float32 with int64 indices). CSR:
    ``(value - (rows + 1) index / (rows cols)) / (value + index)``, about 1/3.
    """
    if layout not in ("coo", "csr"):
        raise ValueError(f"layout must be 'coo' or 'csr', got {layout!r}")
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (rows, cols) with sizes >= 1, got {tuple(shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    if layout == "coo":
        return value_bytes / (value_bytes + 2 * index_bytes)
    pointers = (rows + 1) * index_bytes / (rows * cols)
    return max(0.0, (value_bytes - pointers) / (value_bytes + index_bytes))


def to_layout(weight: torch.Tensor, layout: str) -> torch.Tensor:
    """``weight`` stored as ``"dense"``, ``"coo"`` or ``"csr"`` (without PyTorch's CSR beta warning)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "dense":
        return weight.to_dense() if weight.layout != torch.strided else weight
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "Sparse CSR tensor support is in beta state"
        return weight.to_sparse().coalesce() if layout == "coo" else weight.to_sparse_csr()


def tensor_bytes(t: torch.Tensor) -> int:
    """Bytes a dense, COO or CSR tensor actually holds (its values plus its index arrays)."""
    def size(a: torch.Tensor) -> int:
        return a.numel() * a.element_size()
    if t.layout == torch.strided:
        return size(t)
    if t.layout == torch.sparse_coo:
        t = t.coalesce()
        return size(t.indices()) + size(t.values())
    if t.layout == torch.sparse_csr:
        return size(t.crow_indices()) + size(t.col_indices()) + size(t.values())
    raise ValueError(f"unsupported layout {t.layout}")


def magnitude_prune(weight: torch.Tensor, density: float) -> torch.Tensor:
    """A copy of ``weight`` that keeps only its ``round(density * numel)`` largest-magnitude entries."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    keep = round(density * weight.numel())
    out = torch.zeros_like(weight)
    if keep:
        idx = weight.detach().abs().reshape(-1).topk(keep).indices
        out.view(-1)[idx] = weight.detach().reshape(-1)[idx]
    return out
