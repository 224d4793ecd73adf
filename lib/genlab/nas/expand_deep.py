"""Self-expanding networks that grow in width (in every hidden layer) **and in depth**. Introduced in
09_self_expanding.

``expand`` grows one hidden layer. Here the network is a stack of hidden layers, and at each check the
natural expansion score (Mitchell, Mundt & Kersting 2023) weighs two kinds of candidate against each other:

- **width in hidden layer l**: one new neuron ``u = tanh(w . a_l + b)`` on that layer's input ``a_l``, with
  zero outgoing weights (function preserved, as ``expand.add_neuron``);
- **depth after hidden layer l**: a new hidden layer ``z = B h_l + s`` inserted between ``h_l`` and the
  next layer, whose activation starts as the identity, with the next layer's weights replaced by
  ``W B^-1`` and its bias by ``b - W B^-1 s``: the network computes the same function (``insert_layer``).

Every hidden neuron has the activation ``sigma(z) = alpha z + beta tanh(z)`` with per-neuron ``alpha,
beta``: ``(0, 1)`` is tanh (the first layer and every neuron added in width; fixed), ``(1, 0)`` the
identity (a freshly inserted layer, whose ``alpha, beta`` train, under the same weight decay as the
weights, so it becomes non-linear as ``beta`` grows). A network with one
hidden layer computes exactly what ``expand.ExpandingMLP`` computes.

**The score.** As ``expand.kfac_gains`` but over all layers of the stack: the Fisher is Kronecker-factored
per layer (K-FAC, as the paper), ``A_m = mean a~ a~^T`` of the layer's input (with a 1 for the bias),
``S_m = mean J^T (diag p - p p^T) J`` with ``J = d logits / d pre-activation`` (the expectation over the
model's own labels, exact), ``eta = sum_m vec(G_m)^T (A_m (x) S_m + lambda I)^-1 vec(G_m)``. Both kinds of
candidate add *new inputs* to one layer ``m = l + 1`` (the next hidden layer or the readout): a neuron adds
one, a layer adds the ``H_l`` features ``tanh(B h_l + s)`` it can grow into. ``A_m`` and ``G_m`` are extended
by them and the gain is ``eta'_m - eta_m >= 0`` (what existing inputs already explain gains nothing). A
depth candidate's gain is divided by ``layer_cost`` (2, the official code's ``layer_cost_mul``; times the
layer's width with ``size_costing=True``, the code's option of that name), then the candidate with the
largest gain is grown if ``expand.should_grow`` accepts it (relative ``tau`` and the notebook's
``min_gain`` price).

**What is approximated, compared with the paper** (arXiv 2307.04526 and its code, github.com/ml-research/
self-expanding-neural-networks, ``senn_mlp/nets.py`` and ``senn_mlp/experiment2.py``):

- the paper's layers use a rational activation (``Rational1D``: ``l z + (2 v z + c) / (1 + z^2)``,
  normalised) whose identity setting ``l = 1, v = c = 0`` makes insertion function-preserving; we use
  ``alpha z + beta tanh(z)`` (no normalisation) so that a 1-layer network is the notebook's tanh network and
  identity is exact;
- the inserted layer's basis ``B`` is a random *orthogonal* matrix times ``init_scale`` (the code draws a
  random dense matrix and clips its singular values to make it invertible); ``s`` puts each new unit's
  hyperplane through a random training point, as ``expand.sample_candidates``;
- as in the official code, a depth candidate is scored by the non-linear features it can grow into, with
  free outgoing weights, although at insertion its activation is the identity (a first-step upper bound);
  candidates are the best of random draws (the code ascends their gain and samples one), the relative rule
  compares with the total ``eta`` (the code with the consumer layer's score), the absolute rule is
  ``min_gain`` nats (the code's ``abs_thresh`` divides by the squared norm of the loss gradient), and the
  activation parameters ``alpha, beta`` are trained but left out of ``eta``;
- full-batch training with ``expand.GrowingAdam``: grown rows and columns start with zero moments and step
  0; the layer whose weights ``insert_layer`` rewrites (``W B^-1``) and the new layer start fresh.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import Budget
from .expand import ExpandConfig, GrowingAdam, _kfac_eta, add_neuron, _pad_like, _with_bias, sample_candidates, should_grow


# ----------------------------------------------------------------------------- the network
class DeepExpandingMLP(nn.Module):
    """``x -> sigma_1(L_1 x) -> ... -> sigma_n(L_n .) -> out``, hidden widths ``widths``; each hidden neuron
    has ``sigma(z) = alpha z + beta tanh(z)`` (initialised to tanh: ``alpha = 0, beta = 1``). ``free[l]``
    marks the neurons whose ``alpha, beta`` train (those of inserted layers; ``mask_activation_grads``)."""

    def __init__(self, in_features: int, widths: Sequence[int], out_features: int):
        super().__init__()
        widths = list(widths)
        if not widths or min([in_features, out_features, *widths]) < 1:
            raise ValueError(f"need in/out features >= 1 and at least one hidden width >= 1, "
                             f"got {in_features}, {widths}, {out_features}")
        sizes = [in_features, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.alpha = nn.ParameterList(nn.Parameter(torch.zeros(w)) for w in widths)
        self.beta = nn.ParameterList(nn.Parameter(torch.ones(w)) for w in widths)
        self.free = [torch.zeros(w, dtype=torch.bool) for w in widths]   # which neurons' alpha, beta train
        self.out = nn.Linear(widths[-1], out_features)

    def mask_activation_grads(self, weight_decay: float = 0.0) -> None:
        """Add ``weight_decay * theta`` to the gradients of ``alpha, beta`` and zero them for tanh neurons:
        only an inserted layer's activation trains (from the identity towards a non-linearity), under the
        same L2 penalty as the weights (without it, ``alpha, beta`` grow and undo the weight decay); a tanh
        neuron stays a tanh neuron."""
        for a, b, free in zip(self.alpha, self.beta, self.free):
            for p in (a, b):
                if p.grad is not None:
                    p.grad.add_(p.detach(), alpha=weight_decay).mul_(free.to(p.grad.dtype))

    @property
    def widths(self) -> list[int]:
        return [layer.out_features for layer in self.hidden]

    @property
    def depth(self) -> int:
        return len(self.hidden)

    def activations(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The input of every layer (``x``, ``h_1``, ..., ``h_n``) and every hidden pre-activation."""
        inputs, pres = [x], []
        for lin, a, b in zip(self.hidden, self.alpha, self.beta):
            z = lin(inputs[-1])
            pres.append(z)
            inputs.append(a * z + b * torch.tanh(z))
        return inputs, pres

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.activations(x)[0][-1])

    def linears(self) -> list[nn.Linear]:
        return [*self.hidden, self.out]


# ----------------------------------------------------------------------------- growing, function-preserving
def _copy_param(p: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(p.detach().clone())


def add_neuron_at(model: DeepExpandingMLP, layer: int, w_in: torch.Tensor, b_in: float | torch.Tensor) -> dict:
    """Append one tanh neuron to hidden layer ``layer`` (in place): incoming weights ``w_in``, bias ``b_in``,
    ``alpha = 0, beta = 1``, and **zero** outgoing weights in the next layer, so the function is unchanged.

    Returns ``{new parameter name: old parameter name}`` for the optimiser's state (``regrow_optimizer``).
    """
    if not 0 <= layer < model.depth:
        raise ValueError(f"layer must be in [0, {model.depth}), got {layer}")
    # the two linear layers grow exactly as in the one-layer network (checks included)
    new_lin, new_nxt = add_neuron(model.hidden[layer], model.linears()[layer + 1], w_in, b_in)
    model.hidden[layer] = new_lin
    model.alpha[layer] = nn.Parameter(torch.cat([model.alpha[layer].detach(), model.alpha[layer].new_zeros(1)]))
    model.beta[layer] = nn.Parameter(torch.cat([model.beta[layer].detach(), model.beta[layer].new_ones(1)]))
    model.free[layer] = torch.cat([model.free[layer], torch.zeros(1, dtype=torch.bool)])
    if layer + 1 < model.depth:
        model.hidden[layer + 1] = new_nxt
    else:
        model.out = new_nxt
    return {name: name for name, _ in model.named_parameters()}     # same names; state is padded


def insert_layer(model: DeepExpandingMLP, after: int, basis: torch.Tensor | None = None,
                 shift: torch.Tensor | None = None) -> dict:
    """Insert a hidden layer after hidden layer ``after`` (in place) that leaves the function unchanged.

    The new layer computes ``z = B h + s`` with the identity activation (``alpha = 1, beta = 0``), and the
    next layer's weights ``W`` and bias ``b`` become ``W B^-1`` and ``b - W B^-1 s``, so
    ``W B^-1 (B h + s) + b - W B^-1 s = W h + b``. ``basis = None`` is ``B = I`` and ``shift = None`` is
    ``s = 0``: then the new layer is the identity and the next layer is unchanged. ``B`` must be square
    (``H x H`` with ``H`` the width of layer ``after``) and invertible.

    Returns ``{new parameter name: old parameter name or None}``: ``None`` marks parameters that start
    fresh in the optimiser (the new layer and the rewritten next layer).
    """
    if not 0 <= after < model.depth:
        raise ValueError(f"after must be in [0, {model.depth}), got {after}")
    width = model.widths[after]
    lin_dtype = model.hidden[after].weight
    basis = torch.eye(width, dtype=lin_dtype.dtype) if basis is None else torch.as_tensor(basis, dtype=lin_dtype.dtype)
    shift = torch.zeros(width, dtype=lin_dtype.dtype) if shift is None else torch.as_tensor(shift, dtype=lin_dtype.dtype)
    if basis.shape != (width, width) or shift.shape != (width,):
        raise ValueError(f"need basis ({width}, {width}) and shift ({width},), got {tuple(basis.shape)}, "
                         f"{tuple(shift.shape)}")
    if torch.linalg.matrix_rank(basis.double()) < width:
        raise ValueError("basis must be invertible")
    old_names = [name for name, _ in model.named_parameters()]
    nxt = model.linears()[after + 1]
    new = nn.Linear(width, width).to(lin_dtype)
    rewritten = nn.Linear(width, nxt.out_features).to(nxt.weight)
    identity = torch.equal(basis, torch.eye(width, dtype=basis.dtype)) and not shift.any()
    with torch.no_grad():
        new.weight.copy_(basis)
        new.bias.copy_(shift)
        if identity:
            rewritten.weight.copy_(nxt.weight)
            rewritten.bias.copy_(nxt.bias)
        else:                                   # in float64, then rounded once to the layer's dtype
            w = nxt.weight.double() @ torch.linalg.inv(basis.double())
            rewritten.weight.copy_(w)
            rewritten.bias.copy_(nxt.bias.double() - w @ shift.double())
    if after + 1 < model.depth:
        model.hidden[after + 1] = rewritten
    else:
        model.out = rewritten
    model.hidden.insert(after + 1, new)
    for name, value in (("alpha", 1.0), ("beta", 0.0)):        # ParameterList has no insert
        old = list(getattr(model, name))
        fresh = nn.Parameter(torch.full((width,), value, dtype=lin_dtype.dtype))
        setattr(model, name, nn.ParameterList(old[:after + 1] + [fresh] + old[after + 1:]))
    model.free.insert(after + 1, torch.ones(width, dtype=torch.bool))
    # old layer i (i > after) is now layer i + 1
    def old_name(name: str) -> str | None:
        kind, _, rest = name.partition(".")
        if kind == "out":
            return None if after + 1 == model.depth - 1 and not identity else name
        idx, _, tail = rest.partition(".")
        i = int(idx)
        if i <= after:
            return name
        if i == after + 1:
            return None                                               # the new layer
        if i == after + 2 and kind == "hidden" and not identity:
            return None                                               # rewritten W B^-1
        return f"{kind}.{i - 1}" + (f".{tail}" if tail else "")
    mapping = {name: old_name(name) for name, _ in model.named_parameters()}
    assert all(v is None or v in old_names for v in mapping.values())
    return mapping


def regrow_optimizer(model: nn.Module, optimizer: GrowingAdam, old_params: dict[str, torch.Tensor],
                     mapping: dict[str, str | None]) -> None:
    """Point ``optimizer`` at ``model``'s (new) parameters and carry each one's state over from the old
    parameter it came from (``mapping``), padded with zeros (zero moments, **step 0**) where it grew;
    parameters mapped to ``None`` start fresh. Activation parameters (``alpha``, ``beta``) are in the
    second parameter group (see ``make_optimizer``)."""
    states = {name: optimizer.state.get(p) for name, p in old_params.items()}
    optimizer.state.clear()
    groups = _param_groups(model)
    for group, params in zip(optimizer.param_groups, groups):
        group["params"] = [p for _, p in params]
    for name, p in model.named_parameters():
        src = mapping.get(name)
        state = states.get(src) if src is not None else None
        if state:
            if any(a > b for a, b in zip(state["step"].shape, p.shape)) or state["step"].ndim != p.ndim:
                continue                                              # shape shrank: start fresh
            optimizer.state[p] = {key: _pad_like(v, p) for key, v in state.items()}


def _param_groups(model: DeepExpandingMLP) -> list[list[tuple[str, nn.Parameter]]]:
    named = list(model.named_parameters())
    act = [(n, p) for n, p in named if n.startswith(("alpha", "beta"))]
    return [[(n, p) for n, p in named if not n.startswith(("alpha", "beta"))], act]


def make_optimizer(model: DeepExpandingMLP, config: ExpandConfig) -> GrowingAdam:
    """``GrowingAdam`` with the weight decay on the linear layers; ``alpha, beta`` are a second group whose
    decay ``mask_activation_grads`` adds (only to the neurons that train)."""
    weights, act = _param_groups(model)
    opt = GrowingAdam([p for _, p in weights], lr=config.lr, weight_decay=config.weight_decay)
    opt.add_param_group({"params": [p for _, p in act], "weight_decay": 0.0})
    return opt


# ----------------------------------------------------------------------------- the score
@dataclass
class KfacState:
    """Per layer ``m`` (hidden layers then the readout): input ``a~`` (with bias 1), gradient ``G_m``,
    factors ``A_m, S_m``, back-propagated per-example loss gradient ``s_m`` at the pre-activation, and
    ``eta_m``. Everything in float64."""

    inputs: list[torch.Tensor]
    grads: list[torch.Tensor]
    a: list[torch.Tensor]
    s: list[torch.Tensor]
    resid: list[torch.Tensor]
    eta: torch.Tensor
    lam: float


def kfac_state(model: DeepExpandingMLP, X: torch.Tensor, y: torch.Tensor, damping: float = 1e-3,
               weight_decay: float = 0.0) -> KfacState:
    """The K-FAC factors and score of every linear layer of ``model`` on ``(X, y)`` (see the module doc)."""
    lam = damping + weight_decay
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        inputs, pres = m64.activations(X.double())
        logits = m64.out(inputs[-1])
    p = torch.softmax(logits, 1)
    n, c = p.shape
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]            # (N, C, C)
    resid = p - F.one_hot(y, c).double()
    jac = torch.eye(c, dtype=torch.float64).expand(n, c, c)              # d logits / d pre of the readout
    jacs = [jac]
    lins = m64.linears()
    for i in reversed(range(m64.depth)):
        z = pres[i]
        dsig = m64.alpha[i].detach() + m64.beta[i].detach() * (1 - torch.tanh(z) ** 2)   # (N, H)
        jac = (jac @ lins[i + 1].weight.detach()) * dsig[:, None, :]
        jacs.insert(0, jac)
    a_list, s_list, g_list, r_list, etas = [], [], [], [], []
    for i, lin in enumerate(lins):
        a1 = _with_bias(inputs[i])
        r = torch.einsum("nc,nch->nh", resid, jacs[i])                   # d loss_n / d pre
        theta = torch.cat([lin.weight.detach(), lin.bias.detach()[:, None]], 1)
        g = r.T @ a1 / n + weight_decay * theta
        a_f = a1.T @ a1 / n
        s_f = torch.einsum("nci,ncd,ndj->ij", jacs[i], cov, jacs[i]) / n
        a_list.append(a1), s_list.append(s_f), g_list.append(g), r_list.append(r)
        etas.append(_kfac_eta(g, a_f, s_f, lam))
    return KfacState(a_list, g_list, [a.T @ a / n for a in a_list], s_list, r_list, torch.stack(etas), lam)


def feature_gains(state: KfacState, layer: int, features: torch.Tensor) -> torch.Tensor:
    """Gain ``eta'_m - eta_m`` of adding ``k`` new inputs (zero outgoing weights) to layer ``m = layer``.

    ``features (M, N, k)``: the new inputs' values for ``M`` candidates on the ``N`` examples. ``A_m`` grows
    by ``k`` rows and columns and ``G_m`` by ``k`` columns ``mean_n s_n f_n^T``; ``S_m`` is unchanged.
    Returns ``(M,)``, never negative (clamped at 0 against rounding).
    """
    if features.ndim != 3 or features.shape[1] != len(state.inputs[layer]):
        raise ValueError(f"need features (M, N, k) with N = {len(state.inputs[layer])}, got {tuple(features.shape)}")
    f = features.double()
    a1, g, r, s_f = state.inputs[layer], state.grads[layer], state.resid[layer], state.s[layer]
    m, n, k = f.shape
    kk = a1.shape[1]
    a_ext = torch.empty(m, kk + k, kk + k, dtype=torch.float64)
    a_ext[:, :kk, :kk] = state.a[layer]
    cross = torch.einsum("nk,mnj->mkj", a1, f) / n                      # (M, K, k)
    a_ext[:, :kk, kk:] = cross
    a_ext[:, kk:, :kk] = cross.transpose(1, 2)
    a_ext[:, kk:, kk:] = torch.einsum("mni,mnj->mij", f, f) / n
    g_new = torch.einsum("nh,mnj->mhj", r, f) / n                         # (M, out, k)
    g_ext = torch.cat([g.expand(m, *g.shape), g_new], 2)
    eta_m = _kfac_eta(g, state.a[layer], s_f, state.lam)
    return (_kfac_eta(g_ext, a_ext, s_f.expand(m, *s_f.shape), state.lam) - eta_m).clamp_min(0.0)


def sample_bases(h: torch.Tensor, num: int, scale: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``num`` random bases ``B = scale * Q`` (``Q`` orthogonal, ``H x H``) and shifts ``s = -B h_anchor``
    (each new unit's hyperplane through a random training point's hidden representation)."""
    if num < 1 or scale <= 0:
        raise ValueError(f"need num >= 1 and scale > 0, got {num}, {scale}")
    width = h.shape[1]
    q, r = torch.linalg.qr(torch.randn(num, width, width, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]   # uniform (Haar) orthogonal
    basis = (scale * q).to(h.dtype)
    anchors = h[torch.randint(len(h), (num,), generator=generator)]
    return basis, -torch.einsum("mij,mj->mi", basis, anchors)


@dataclass
class Candidate:
    """One scored growth: ``kind`` "width" (a neuron in hidden layer ``layer``) or "depth" (a layer after
    hidden layer ``layer``), its ``gain`` (a depth gain already divided by ``layer_cost``) and parameters."""

    kind: str
    layer: int
    gain: float
    w: torch.Tensor
    b: torch.Tensor


def score_candidates(model: DeepExpandingMLP, X: torch.Tensor, y: torch.Tensor, config: ExpandConfig,
                     generator: torch.Generator, layer_cost: float = 2.0, max_layers: int = 3,
                     size_costing: bool = False) -> tuple[float, list[Candidate]]:
    """``eta`` of the network and the best candidate per position: width in each hidden layer below
    ``config.max_width``, depth after each hidden layer while ``depth < max_layers``. A layer's gain is
    divided by ``layer_cost``, times its width with ``size_costing`` (both as the official code's
    ``layer_cost_mul`` and ``size_costing``). Random draws come from ``generator`` in a fixed order."""
    state = kfac_state(model, X, y, config.damping, config.weight_decay)
    with torch.no_grad():
        inputs, _ = model.activations(X)
    best: list[Candidate] = []
    for layer in range(model.depth):
        if model.widths[layer] < config.max_width:
            w, b = sample_candidates(inputs[layer], config.num_candidates, config.init_scale, generator)
            u = torch.tanh(inputs[layer] @ w.T + b)                          # (N, M)
            gains = feature_gains(state, layer + 1, u.T[:, :, None])
            i = int(gains.argmax())
            best.append(Candidate("width", layer, float(gains[i]), w[i], b[i]))
        if model.depth < max_layers:
            h = inputs[layer + 1]
            basis, shift = sample_bases(h, config.num_candidates, config.init_scale, generator)
            feats = torch.tanh(torch.einsum("nj,mij->mni", h, basis) + shift[:, None, :])
            gains = feature_gains(state, layer + 1, feats) / (layer_cost * (h.shape[1] if size_costing else 1))
            i = int(gains.argmax())
            best.append(Candidate("depth", layer, float(gains[i]), basis[i], shift[i]))
    return float(state.eta.sum()), best


# ----------------------------------------------------------------------------- training
@dataclass
class DeepGrowthHistory:
    """One record per check: step, widths after it, the best width and depth gains (0 if none), the
    kind of growth (``""`` if none) and, per growth, the max |output change| in float64."""

    step: list[int] = field(default_factory=list)
    widths: list[list[int]] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)
    width_gain: list[float] = field(default_factory=list)
    depth_gain: list[float] = field(default_factory=list)
    grew: list[str] = field(default_factory=list)
    max_diff: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def events(self) -> list[tuple[int, str, list[int]]]:
        """``(step, "width"/"depth", widths after)`` for every growth."""
        return [(s, g, w) for s, g, w in zip(self.step, self.grew, self.widths) if g]


def _grow(model: DeepExpandingMLP, optimizer: GrowingAdam, cand: Candidate) -> None:
    old = dict(model.named_parameters())
    if cand.kind == "width":
        mapping = add_neuron_at(model, cand.layer, cand.w, cand.b)
    else:
        mapping = insert_layer(model, cand.layer, cand.w, cand.b)
    regrow_optimizer(model, optimizer, old, mapping)


def train_deep_expanding(X: torch.Tensor, y: torch.Tensor, num_classes: int, config: ExpandConfig | None = None,
                         seed: int = 0, start_widths: Sequence[int] = (1,), max_layers: int = 3,
                         layer_cost: float = 2.0, size_costing: bool = False,
                         ) -> tuple[DeepExpandingMLP, DeepGrowthHistory]:
    """Train a ``DeepExpandingMLP`` from ``start_widths`` with full-batch ``GrowingAdam``; every
    ``config.check_every`` steps score all width and depth candidates (``score_candidates``) and grow the
    one with the largest gain if ``expand.should_grow(eta, gain, config)`` accepts it (one per check)."""
    config = config or ExpandConfig()
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if max_layers < 1 or layer_cost <= 0:
        raise ValueError(f"need max_layers >= 1 and layer_cost > 0, got {max_layers}, {layer_cost}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    model = DeepExpandingMLP(X.shape[1], start_widths, num_classes)
    optimizer = make_optimizer(model, config)
    history, budget = DeepGrowthHistory(), Budget(None)
    for step in range(config.max_steps):
        if step % config.check_every == 0:
            eta, cands = score_candidates(model, X, y, config, generator, layer_cost, max_layers, size_costing)
            best = max(cands, key=lambda c: c.gain, default=None)
            grew = ""
            if best is not None and should_grow(eta, best.gain, config):
                with torch.no_grad():
                    before = copy.deepcopy(model).double()(X.double())
                _grow(model, optimizer, best)
                with torch.no_grad():
                    history.max_diff.append(float((copy.deepcopy(model).double()(X.double()) - before).abs().max()))
                grew = best.kind
            history.step.append(step)
            history.widths.append(model.widths)
            history.eta.append(eta)
            history.width_gain.append(max((c.gain for c in cands if c.kind == "width"), default=0.0))
            history.depth_gain.append(max((c.gain for c in cands if c.kind == "depth"), default=0.0))
            history.grew.append(grew)
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        model.mask_activation_grads(config.weight_decay)
        optimizer.step()
    history.seconds = budget.elapsed
    return model.eval(), history
