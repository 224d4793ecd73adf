"""DARTS: differentiable architecture search (Liu, Simonyan & Yang, ICLR 2019). Introduced in 07_darts.

Instead of choosing one op per edge, every edge of the NAS-Bench-201 cell computes a
**mixed op**, the softmax(α)-weighted sum of all 5 ops; α (6 edges × 5 ops, shared by the
cells of the network, as in NAS-Bench-201's DARTS) is learned by gradient descent together
with the weights w of the **supernet** — the benchmark's own skeleton (``CellNetwork``) with
search cells in it. The bilevel problem

    min_α L_val(w*(α), α)   subject to   w*(α) = argmin_w L_train(w, α)

is solved approximately, alternating one SGD step on w (train half) and one Adam step on α
(the other half), ignoring how w*(α) depends on α (**first order**). At the end α is
**discretised**: the op with the largest α on each edge.

First-order DARTS is known to drift towards parameter-free ops — skip connections above all —
and to derive poor cells (Dong & Yang report 54 % on CIFAR-10 for NAS-Bench-201's DARTS, against
a 94 % optimum). 07 measures what happens on digits: skip's weight falls in the benchmark's
network (1 cell per stage) and changes little in a deeper supernet (``cells_per_stage=5``), with
one setting changed at a time. One remedy is implemented twice: ``darts_pt`` is
perturbation-based selection as in DARTS-PT (Wang et al., ICLR 2021) and its code — edges in
random order, an op removed without renormalising, scored by accuracy, fine-tuning between
decisions — and ``perturbation_select`` a cheaper variant (renormalised, fixed order, loss, no
fine-tuning); 07 compares them. 07's exercises drive its runs: ``search``/``Supernet`` take a
``mixed_op`` function, ``search``/``search_epoch``/``darts_pt`` an ``arch_step`` and
``SearchResult.cell`` a ``discretize`` (the library's own by default).
"""
from __future__ import annotations

import copy

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import Budget
from .network import OP_BUILDERS, CellNetwork
from .space import EDGES, NUM_EDGES, OPS, Ops

NONE, SKIP, CONV1, CONV3, POOL = (OPS.index(op) for op in
                                  ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))


# --------------------------------------------------------------------------- the relaxation
def mix(x: torch.Tensor, ops: Sequence[Callable[[torch.Tensor], torch.Tensor]],
        alpha: torch.Tensor) -> torch.Tensor:
    """The mixed op of 07: ``sum_k softmax(alpha)_k * ops[k](x)`` for one edge."""
    if alpha.dim() != 1 or alpha.numel() != len(ops):
        raise ValueError(f"alpha must be a vector with one entry per op ({len(ops)}), "
                         f"got shape {tuple(alpha.shape)}")
    weights = F.softmax(alpha, dim=0)          # stable: subtracts the max before exp
    return sum(w * op(x) for w, op in zip(weights, ops))


def avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """``OP_BUILDERS["avg_pool_3x3"]`` (3×3 mean, padding not counted) as a depthwise conv.

    Same numbers, about 3× faster on a CPU than ``nn.AvgPool2d(count_include_pad=False)``,
    which matters when every step runs 12 of them.
    """
    c, (h, w) = x.shape[1], x.shape[-2:]
    sums = F.conv2d(x, x.new_ones(c, 1, 3, 3), padding=1, groups=c)
    counts = F.conv2d(x.new_ones(1, 1, h, w), x.new_ones(1, 1, 3, 3), padding=1)
    return sums / counts


class MixedOp(nn.Module):
    """One edge of a search cell: all 5 NAS-Bench-201 ops, mixed by the edge's α.

    ``forward`` computes exactly ``mix(x, self.ops, alpha)`` with two shortcuts: the ``none``
    term (zero times a weight) is left out of the sum — its weight still takes its share of the
    softmax — and the pool runs as ``avg_pool_3x3`` above.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.ops = nn.ModuleList(OP_BUILDERS[op](channels) for op in OPS)

    def forward(self, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return self.weighted(x, F.softmax(alpha, dim=0))

    def weighted(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The edge's output for given mixing weights ``w`` (5 values, not necessarily summing to 1)."""
        return (w[SKIP] * x + w[CONV1] * self.ops[CONV1](x) + w[CONV3] * self.ops[CONV3](x)
                + w[POOL] * avg_pool_3x3(x))

    def callables(self, scale: torch.Tensor | None = None) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The 5 ops as callables in the order of ``OPS`` (``none`` as zeros, the pool as
        ``avg_pool_3x3``), for a ``mixed_op(x, ops, alpha)`` written as 07's exercise. With
        ``scale`` (5 values) op k's output is multiplied by ``scale[k]`` (``Supernet.drop``)."""
        ops = [torch.zeros_like, lambda t: t, self.ops[CONV1], self.ops[CONV3], avg_pool_3x3]
        if scale is None:
            return ops
        return [lambda t, f=f, s=s: s * f(t) for f, s in zip(ops, scale)]


class SearchCell(nn.Module):
    """The NB-201 cell with a mixed op on every edge; reads α from the supernet that owns it.

    The mixing weights come from ``Supernet.mixing_weights`` (softmax(α), with the masks and
    projections of the two perturbation-based selections applied). If the supernet was given a
    ``mixed_op`` function, every edge not yet decided is computed by it instead:
    ``mixed_op(x, edge.callables(drop), effective_alpha)`` — the same numbers up to rounding.
    """

    def __init__(self, channels: int, owner: "Supernet"):
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(channels) for _ in EDGES)
        object.__setattr__(self, "_owner", owner)   # not a submodule: avoids a module cycle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        owner = self._owner
        if owner.mixed_op is None:
            weights = owner.mixing_weights()
            edge_out = lambda k, t: self.edges[k].weighted(t, weights[k])  # noqa: E731
        else:
            alpha, decided = owner.effective_alpha(), owner.decided.tolist()
            dropped = (owner.drop != 1).any(dim=1).tolist()

            def edge_out(k: int, t: torch.Tensor) -> torch.Tensor:
                edge = self.edges[k]
                if decided[k]:          # projected to one op: nothing left to mix
                    return edge.weighted(t, owner.proj[k])
                return owner.mixed_op(t, edge.callables(owner.drop[k] if dropped[k] else None), alpha[k])
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(edge_out(k, nodes[i]) for k, (to, i) in enumerate(EDGES) if to == j))
        return nodes[3]


class Supernet(nn.Module):
    """``CellNetwork`` with search cells at both stages and one shared α of shape (6, 5).

    Three buffers change what the cells mix, for the two perturbation-based selections:
    ``mask`` (6 × 5, 1 = op available; ``perturbation_select``, the variant): a removed op gets
    α = -inf, so the softmax **renormalises** over the ops that remain; ``drop`` (6 × 5;
    ``darts_pt``, as the paper's code): a removed op's softmax weight is multiplied by 0, the
    others keep theirs (no renormalisation); ``decided``/``proj`` (``darts_pt``): a decided edge
    uses the one-hot weights in ``proj`` instead of softmax(α).

    ``mixed_op`` (optional): a function ``mixed_op(x, ops, alpha)`` like ``mix`` — 07's exercise —
    that then computes every undecided edge (see ``SearchCell``); None: the library's ``MixedOp``.
    """

    def __init__(self, channels: int = 16, num_classes: int = 10, alpha_init: float = 1e-3,
                 cells_per_stage: int = 1, mixed_op: Callable | None = None):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        # DARTS starts α near zero (uniform mixture) with a little noise to break ties.
        self.alpha = nn.Parameter(alpha_init * torch.randn(NUM_EDGES, len(OPS)))
        self.register_buffer("mask", torch.ones(NUM_EDGES, len(OPS)))
        self.register_buffer("drop", torch.ones(NUM_EDGES, len(OPS)))
        self.register_buffer("proj", torch.zeros(NUM_EDGES, len(OPS)))
        self.register_buffer("decided", torch.zeros(NUM_EDGES, dtype=torch.bool))
        self.mixed_op = mixed_op
        self.net = CellNetwork(
            lambda c: nn.Sequential(*(SearchCell(c, self) for _ in range(cells_per_stage))),
            channels, num_classes)

    def effective_alpha(self) -> torch.Tensor:
        return self.alpha.masked_fill(self.mask == 0, float("-inf"))

    def mixing_weights(self) -> torch.Tensor:
        """The (6, 5) weights the edges mix their ops with: softmax(α) over the ops left by
        ``mask``, times ``drop``; one-hot ``proj`` rows on the ``decided`` edges."""
        w = F.softmax(self.effective_alpha(), dim=-1) * self.drop
        return torch.where(self.decided[:, None], self.proj, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def weights(self) -> list[nn.Parameter]:
        """The network weights w (everything but α)."""
        return [p for p in self.parameters() if p is not self.alpha]

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]


# --------------------------------------------------------------------------- the bilevel step
def weight_step(net: Supernet, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                grad_clip: float = 5.0) -> float:
    """One SGD step on the weights w with α fixed, on a batch of the weights' half."""
    loss = F.cross_entropy(net(x), y)
    optimizer.zero_grad()
    net.alpha.grad = None
    loss.backward()
    nn.utils.clip_grad_norm_(net.weights(), grad_clip)
    optimizer.step()
    return loss.item()


def arch_step(net: nn.Module, alpha_optimizer: torch.optim.Optimizer, x_val: torch.Tensor,
              y_val: torch.Tensor) -> float:
    """The first-order architecture step of 07: one step of ``alpha_optimizer`` on the
    cross-entropy of the α half's batch, with the weights w held at their current values
    (the gradient through w*(α) is dropped). Returns the loss before the step."""
    loss = F.cross_entropy(net(x_val), y_val)
    alpha_optimizer.zero_grad()
    loss.backward()
    alpha_optimizer.step()
    return loss.item()


# --------------------------------------------------------------------------- discretisation
def derive_cell(alpha: torch.Tensor, exclude_none: bool = True) -> Ops:
    """Discretise α (6 × 5): the op with the largest α on each edge, as 6 op names.

    DARTS excludes ``none`` (a zero op would win by scaling, not by usefulness) and keeps the
    strongest 2 inputs per node; NAS-Bench-201's DARTS keeps every edge and takes the argmax
    over all 5 ops, ``none`` included. ``exclude_none=False`` reproduces the latter.
    """
    alpha = torch.as_tensor(alpha).detach()
    if alpha.shape != (NUM_EDGES, len(OPS)):
        raise ValueError(f"alpha must have shape ({NUM_EDGES}, {len(OPS)}), got {tuple(alpha.shape)}")
    if exclude_none:
        alpha = alpha.clone()
        alpha[:, NONE] = float("-inf")
    return tuple(OPS[k] for k in alpha.argmax(dim=1).tolist())


# --------------------------------------------------------------------------- bookkeeping
@dataclass
class AlphaHistory:
    """softmax(α) per edge, recorded once per epoch: ``weights`` has shape (T, 6, 5)."""

    epochs: list[int] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)

    def record(self, epoch: int, alpha: torch.Tensor) -> None:
        self.epochs.append(epoch)
        self.snapshots.append(F.softmax(alpha.detach().float(), dim=-1).cpu().numpy())

    @property
    def weights(self) -> np.ndarray:
        if not self.snapshots:
            raise ValueError("the history is empty: record at least one epoch")
        return np.stack(self.snapshots)

    def op_weight(self, op: str = "skip_connect") -> np.ndarray:
        """Mean softmax weight of one op over the 6 edges, per recorded epoch."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; the ops are {OPS}")
        return self.weights[:, :, OPS.index(op)].mean(axis=1)

    def __len__(self) -> int:
        return len(self.snapshots)


# --------------------------------------------------------------------------- the search
@dataclass
class DartsConfig:
    """Search hyper-parameters: NAS-Bench-201's DARTS (SGD on w, Adam on α), scaled to digits.

    The α learning rate is 10× NB-201's 3e-4: one of our epochs is 10 steps, not 390, so α
    would otherwise barely move. ``cells_per_stage`` > 1 stacks search cells at each stage,
    like NAS-Bench-201's 5 (07 compares 5 with 1, the benchmark's network, all else equal).
    """

    num_epochs: int = 30
    channels: int = 16
    cells_per_stage: int = 1
    batch_size: int = 64
    w_lr: float = 0.025           # SGD with momentum, cosine-annealed to w_lr_min
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    alpha_lr: float = 3e-3        # Adam with DARTS's betas and weight decay
    alpha_betas: tuple[float, float] = (0.5, 0.999)
    alpha_weight_decay: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("num_epochs", "channels", "cells_per_stage", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.w_lr <= 0 or self.alpha_lr < 0:
            raise ValueError(f"need w_lr > 0 and alpha_lr >= 0, got {self.w_lr}, {self.alpha_lr}")


def split_halves(X: torch.Tensor, y: torch.Tensor, seed: int = 0):
    """The training set as two stratified halves ``(X_w, y_w), (X_alpha, y_alpha)``.

    DARTS fits w on one half and α on the other; the real validation and test splits stay
    untouched, so the benchmark's numbers for the derived cell are not biased by the search.
    """
    if len(X) != len(y) or len(y) < 2:
        raise ValueError(f"need matching X and y with at least 2 rows, got {len(X)} and {len(y)}")
    g = torch.Generator().manual_seed(seed)
    first, second = [], []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        first.append(idx[: len(idx) // 2])
        second.append(idx[len(idx) // 2:])
    a, b = torch.cat(first), torch.cat(second)
    return (X[a], y[a]), (X[b], y[b])


@dataclass
class SearchResult:
    """What a DARTS run leaves: the trained supernet, α's history and the per-epoch losses."""

    net: Supernet
    history: AlphaHistory
    train_loss: list[float]
    alpha_loss: list[float]
    seconds: float

    @property
    def alpha(self) -> torch.Tensor:
        return self.net.alpha.detach().clone()

    def cell(self, exclude_none: bool = True, discretize: Callable[..., Ops] = derive_cell) -> Ops:
        """The discretised cell: ``discretize`` (default ``derive_cell``; 07 passes the learner's)
        of the final α."""
        return discretize(self.net.alpha, exclude_none)


def search_epoch(net: Supernet, w_opt: torch.optim.Optimizer, a_opt: torch.optim.Optimizer,
                 w_half: tuple, a_half: tuple, c: "DartsConfig", g: torch.Generator,
                 sched=None, arch_step: Callable[..., float] = arch_step) -> tuple[list[float], list[float]]:
    """One epoch of first-order DARTS: per batch an ``arch_step`` on the α half, then a
    ``weight_step`` on the w half (and ``sched.step()``). Returns the batches' w and α losses.
    ``search`` runs it every epoch; ``darts_pt`` fine-tunes with it between decisions.
    ``arch_step``: the architecture step, ``arch_step(net, a_opt, x, y) -> loss`` (default the
    library's; 07 passes the learner's)."""
    (X_w, y_w), (X_a, y_a) = w_half, a_half
    net.train()
    perm_w, perm_a = torch.randperm(len(y_w), generator=g), torch.randperm(len(y_a), generator=g)
    lw, la = [], []
    for i in range(0, len(y_w), c.batch_size):
        ia = perm_a[i:i + c.batch_size] if i < len(y_a) else perm_a[:c.batch_size]
        iw = perm_w[i:i + c.batch_size]
        if c.alpha_lr > 0:
            la.append(arch_step(net, a_opt, X_a[ia], y_a[ia]))
        lw.append(weight_step(net, w_opt, X_w[iw], y_w[iw], c.grad_clip))
        if sched is not None:
            sched.step()
    return lw, la


def search(data, config: DartsConfig = DartsConfig(), seed: int = 0,
           on_epoch: Callable[[int, Supernet], None] | None = None, *,
           mixed_op: Callable | None = None, arch_step: Callable[..., float] = arch_step) -> SearchResult:
    """First-order DARTS on the digits training split (07).

    ``data`` has ``X_train``/``y_train`` (images ``(N, 1, 8, 8)`` or rows of 64); the split
    into halves is fixed (seed 0), ``seed`` sets α and the weights' initialisation and the
    batch order. Each step: one ``arch_step`` on a batch of the α half, then one
    ``weight_step`` on a batch of the w half (DARTS's order). α is recorded every epoch.
    ``mixed_op`` and ``arch_step`` replace the library's mixed op (``Supernet(mixed_op=...)``) and
    architecture step: 07 runs the search with the learner's; the defaults are the reference.
    """
    if not (hasattr(data, "X_train") and hasattr(data, "y_train")):
        raise ValueError(f"data needs X_train and y_train (e.g. genlab.data.load_digits()), got {type(data).__name__}")
    (X_w, y_w), (X_a, y_a) = split_halves(data.X_train, data.y_train)
    c = config
    torch.manual_seed(seed)
    net = Supernet(c.channels, cells_per_stage=c.cells_per_stage, mixed_op=mixed_op)
    w_opt = torch.optim.SGD(net.weights(), lr=c.w_lr, momentum=c.w_momentum,
                            weight_decay=c.w_weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=c.alpha_lr, betas=c.alpha_betas,
                             weight_decay=c.alpha_weight_decay)
    steps_per_epoch = -(-len(y_w) // c.batch_size)
    # DARTS's own schedule for w, kept exactly (not the course's warmup_cosine): SGD's lr
    # cosine-annealed from w_lr to w_lr_min, here per step rather than per epoch.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, c.num_epochs * steps_per_epoch, c.w_lr_min)
    g = torch.Generator().manual_seed(seed)
    history, train_loss, alpha_loss = AlphaHistory(), [], []
    history.record(0, net.alpha)
    budget = Budget(None)                   # a stopwatch: the search runs all its epochs
    for epoch in range(1, c.num_epochs + 1):
        lw, la = search_epoch(net, w_opt, a_opt, (X_w, y_w), (X_a, y_a), c, g, sched, arch_step)
        history.record(epoch, net.alpha)
        train_loss.append(float(np.mean(lw)))
        alpha_loss.append(float(np.mean(la)) if la else float("nan"))
        if on_epoch is not None:
            on_epoch(epoch, net)
    return SearchResult(net, history, train_loss, alpha_loss, budget.elapsed)


# --------------------------------------------------------------------------- the remedy
class _FrozenBatchStats:
    """Inside: BN layers normalise with the batch's statistics but leave running stats alone."""

    def __init__(self, net: nn.Module):
        self.bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def __enter__(self):
        self.saved = [(m.momentum, m.training) for m in self.bns]
        for m in self.bns:
            m.momentum, m.training = 0.0, True
        return self

    def __exit__(self, *exc):
        for m, (momentum, training) in zip(self.bns, self.saved):
            m.momentum, m.training = momentum, training


@torch.no_grad()
def supernet_loss(net: Supernet, X: torch.Tensor, y: torch.Tensor) -> float:
    """Cross-entropy of the supernet on (X, y) as one batch, BN on the batch's statistics."""
    with _FrozenBatchStats(net):
        return F.cross_entropy(net(X), y).item()


@torch.no_grad()
def perturbation_select(net: Supernet, X: torch.Tensor, y: torch.Tensor,
                        exclude_none: bool = True) -> tuple[Ops, np.ndarray]:
    """A simplified variant of perturbation-based selection (DARTS-PT, Wang et al. 2021);
    ``darts_pt`` below is the paper's procedure.

    Edge by edge, remove each candidate op from the trained supernet (its α set to -inf, the
    softmax renormalises over the others) and measure the increase of the loss on (X, y),
    the α half. The op whose removal hurts most is the one the supernet relies on; the edge
    is then fixed to it (its other ops masked) before the next edge is scored. Returns the 6
    ops and the (6, 5) loss increases (NaN for ops not scored); ``net`` is left as it was.

    How it differs from the paper's code (``darts_pt``): the softmax is renormalised after a
    removal (the paper multiplies the removed op's weight by 0 and leaves the others), edges are
    visited in fixed order (the paper: random), the score is the loss (the paper: accuracy by
    default), and the supernet is not fine-tuned between decisions. 07 measures both.
    """
    saved = net.mask.clone()
    scores = np.full((NUM_EDGES, len(OPS)), np.nan)
    chosen = []
    try:
        for e in range(NUM_EDGES):
            base = supernet_loss(net, X, y)
            for k, op in enumerate(OPS):
                if exclude_none and op == "none":
                    continue
                net.mask[e, k] = 0.0
                scores[e, k] = supernet_loss(net, X, y) - base
                net.mask[e, k] = 1.0
            best = int(np.nanargmax(scores[e]))
            net.mask[e] = 0.0
            net.mask[e, best] = 1.0
            chosen.append(OPS[best])
    finally:
        net.mask.copy_(saved)
    return tuple(chosen), scores



# --------------------------------------------------------------------------- DARTS-PT as the paper
@dataclass
class PTResult:
    """What ``darts_pt`` leaves: the cell, the order the edges were decided in, each decision's
    scores (accuracy and loss of the supernet with op k removed from the edge; NaN where not
    scored), and the fine-tuned, projected supernet."""

    cell: Ops
    order: list[int]
    acc: np.ndarray
    loss: np.ndarray
    net: Supernet
    seconds: float


@torch.no_grad()
def supernet_scores(net: Supernet, X: torch.Tensor, y: torch.Tensor,
                    batch_size: int | None = None) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the supernet on (X, y), in batches of ``batch_size``
    (None: one batch) with BN on each batch's statistics (the paper's ``infer(..., eval=False)``),
    running stats untouched."""
    batch_size = batch_size or len(y)
    correct, total_loss = 0.0, 0.0
    with _FrozenBatchStats(net):
        for i in range(0, len(y), batch_size):
            logits = net(X[i:i + batch_size])
            total_loss += F.cross_entropy(logits, y[i:i + batch_size], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(y), total_loss / len(y)


def darts_pt(net: Supernet, data, config: DartsConfig = DartsConfig(), *, tune_epochs: int = 1,
             crit: str = "acc", exclude_none: bool = False, seed: int = 0,
             score_batch_size: int | None = None, arch_step: Callable[..., float] = arch_step) -> PTResult:
    """Perturbation-based architecture selection as in Wang et al. (ICLR 2021) and their code
    (``nasbench201/projection.py`` of github.com/ruocwang/darts-pt), on a copy of ``net``.

    Six decisions; before each, an edge not yet decided is drawn **at random**; each of its ops
    is removed in turn by multiplying its softmax weight by 0 (**no renormalisation**), and the
    supernet is scored on the α half; with ``crit="acc"`` (the paper's default) the op whose
    removal gives the lowest **accuracy** is kept (``"loss"``: the highest loss); ties go to the
    first op, as there. The edge is then projected to that op (one-hot weights). Between decisions
    the supernet is **fine-tuned** ``tune_epochs`` epochs with the search's steps (α by Adam on
    the α half, w by SGD at a tenth of ``config.w_lr``, constant) — the paper's code uses 5
    epochs of 390 steps; 07 uses fewer to fit its budget. As on NAS-Bench-201 in the paper's
    code, ``none`` is a candidate (``exclude_none=True`` rules it out). The Adam state of the
    search is not carried over (a fresh optimiser; the paper resumes the search's). The paper
    scores in batches of 64 (BN on each batch's statistics); ``score_batch_size=None`` scores the
    α half as one batch, several times faster on a CPU. ``arch_step`` is the fine-tuning's
    architecture step (as in ``search``); the copy keeps ``net.mixed_op``.
    """
    if crit not in ("acc", "loss"):
        raise ValueError(f"crit must be 'acc' or 'loss', got {crit!r}")
    if tune_epochs < 0:
        raise ValueError(f"tune_epochs must be >= 0, got {tune_epochs!r}")
    budget = Budget(None)
    (X_w, y_w), (X_a, y_a) = split_halves(data.X_train, data.y_train)
    net = copy.deepcopy(net)
    net.mask.fill_(1.0)
    net.drop.fill_(1.0)
    net.proj.zero_()
    net.decided.zero_()
    c = config
    w_opt = torch.optim.SGD(net.weights(), lr=c.w_lr / 10, momentum=c.w_momentum, weight_decay=c.w_weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=c.alpha_lr, betas=c.alpha_betas,
                             weight_decay=c.alpha_weight_decay)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    acc = np.full((NUM_EDGES, len(OPS)), np.nan)
    loss = np.full((NUM_EDGES, len(OPS)), np.nan)
    order, cell = [], [None] * NUM_EDGES
    for decision in range(NUM_EDGES):
        remaining = [e for e in range(NUM_EDGES) if not net.decided[e]]
        e = int(rng.choice(remaining))
        best = None
        for k, op in enumerate(OPS):
            if exclude_none and op == "none":
                continue
            net.drop[e].fill_(1.0)
            net.drop[e, k] = 0.0
            acc[e, k], loss[e, k] = supernet_scores(net, X_a, y_a, score_batch_size)
            value = acc[e, k] if crit == "acc" else -loss[e, k]
            if best is None or value < best[0]:
                best = (value, k)
        net.drop[e].fill_(1.0)
        net.proj[e].zero_()
        net.proj[e, best[1]] = 1.0
        net.decided[e] = True
        order.append(e)
        cell[e] = OPS[best[1]]
        if decision < NUM_EDGES - 1:
            for _ in range(tune_epochs):
                search_epoch(net, w_opt, a_opt, (X_w, y_w), (X_a, y_a), c, g, arch_step=arch_step)
    return PTResult(tuple(cell), order, acc, loss, net, budget.elapsed)
