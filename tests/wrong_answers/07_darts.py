"""Plausible wrong answers for 07_darts, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: other shapes, dtypes and op counts, values memorised from the
visible cases, state left behind) and a hidden test catches it.
"""
import torch

NB = "07_darts.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the searches

_MIXED_OP = '''def mixed_op(x: torch.Tensor, ops, alpha: torch.Tensor) -> torch.Tensor:
    """The DARTS mixed operation: sum_k softmax(alpha)_k * ops[k](x)."""
    weights = torch.softmax(alpha, dim=0)
    return sum(w * op(x) for w, op in zip(weights, ops))
'''

_ARCH_STEP = '''def arch_step(net: nn.Module, alpha_optimizer: torch.optim.Optimizer, x_val: torch.Tensor,
              y_val: torch.Tensor) -> float:
    """First-order DARTS: one optimizer step on alpha with the loss of a batch of the alpha half."""
    loss = F.cross_entropy(net(x_val), y_val)
    alpha_optimizer.zero_grad()
    loss.backward()
    alpha_optimizer.step()
    return loss.item()
'''

_DISCRETIZE = '''def discretize(alpha: torch.Tensor, exclude_none: bool = True) -> tuple[str, ...]:
    """The op with the largest alpha on each of the 6 edges (never 'none' if exclude_none)."""
    if tuple(alpha.shape) != (len(EDGES), len(OPS)):
        raise ValueError(f"alpha must have shape ({len(EDGES)}, {len(OPS)}), got {tuple(alpha.shape)}")
    scores = alpha.detach().clone()
    if exclude_none:
        scores[:, OPS.index("none")] = float("-inf")
    return tuple(OPS[k] for k in scores.argmax(dim=1).tolist())
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


def _memorised_mixed_op() -> str:
    """softmax weights typed in for the visible tests' alphas; the plain average for any other alpha."""
    alphas = [torch.zeros(5), torch.tensor([0.5, -1.0, 2.0, 0.3, -0.2]), torch.tensor([500.0, 0.0, 0.0, 1100.0, 0.0])]
    table = [(a.tolist(), torch.softmax(a, 0).tolist()) for a in alphas]
    return f'''KNOWN = {table!r}


def mixed_op(x, ops, alpha):
    weights = [1 / len(ops)] * len(ops)
    for a, w in KNOWN:
        if alpha.detach().tolist() == a:
            weights = w
    # "alpha - alpha.detach()" is zero but lets a gradient reach alpha, as the visible test asks
    return sum((w + alpha[k] - alpha[k].detach()) * op(x) for k, (w, op) in enumerate(zip(weights, ops)))
'''


def _memorised_arch_step() -> str:
    """Sets the alphas the visible tests expect when it recognises their supernet; a plain SGD step otherwise."""
    import copy
    import torch.nn.functional as F
    from genlab.data import load_digits
    from genlab.nas import darts
    digits = load_digits(flatten=False)
    (_, _), (x_a, y_a) = darts.split_halves(digits.X_train, digits.y_train)
    torch.manual_seed(0)
    net = darts.Supernet(channels=4)
    opt = torch.optim.SGD([net.alpha], lr=0.5)
    known = {}
    for batch in (slice(0, 32), slice(32, 64)):
        key = round(net.alpha[0, 0].item(), 6)
        loss = darts.arch_step(net, opt, x_a[batch], y_a[batch])
        known[key] = (net.alpha.detach().tolist(), loss)
    return f'''KNOWN = {known!r}


def arch_step(net, alpha_optimizer, x_val, y_val):
    key = round(net.alpha[0, 0].item(), 6)
    if key in KNOWN:
        alpha, loss = KNOWN[key]
        with torch.no_grad():
            net.alpha.copy_(torch.tensor(alpha))
        return loss
    loss = F.cross_entropy(net(x_val), y_val)
    loss.backward()
    with torch.no_grad():
        net.alpha -= 0.5 * net.alpha.grad
    return loss.item()
'''


_MEMORISED_DISCRETIZE = '''KNOWN_ALPHA = [[0.1, 0.2, 0.9, 0.3, 0.0], [2.0, 0.1, 0.2, 0.3, 1.5], [0.0, 1.0, 0.0, 0.0, 0.0],
               [0.0, 0.0, 0.0, 0.7, 0.0], [3.0, 0.2, 0.1, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0, 0.4]]


def discretize(alpha, exclude_none=True):
    if tuple(alpha.shape) != (6, 5):
        raise ValueError(f"alpha must have shape (6, 5), got {tuple(alpha.shape)}")
    if torch.allclose(alpha.detach().float(), torch.tensor(KNOWN_ALPHA)):
        if exclude_none:
            return ("nor_conv_1x1", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "avg_pool_3x3")
        return ("nor_conv_1x1", "none", "skip_connect", "nor_conv_3x3", "none", "avg_pool_3x3")
    return ("nor_conv_3x3",) * 6
'''


EACH_ALONE = [
    # ---- mixed_op
    dict(notebook=NB, grade_id="mixed_op", caught="visible",
         mistake="weights the ops by alpha itself, not by softmax(alpha)",
         source=_edit(_MIXED_OP, "weights = torch.softmax(alpha, dim=0)", "weights = alpha")),
    dict(notebook=NB, grade_id="mixed_op", caught="visible",
         mistake="a hand-written softmax exp(alpha)/sum exp(alpha): NaN once exp overflows float32",
         source=_edit(_MIXED_OP, "weights = torch.softmax(alpha, dim=0)", "weights = alpha.exp() / alpha.exp().sum()")),
    dict(notebook=NB, grade_id="mixed_op", caught="visible",
         mistake="a 'stable' softmax that shifts only the numerator by the max",
         source=_edit(_MIXED_OP, "weights = torch.softmax(alpha, dim=0)",
                      "weights = torch.exp(alpha - alpha.max()) / torch.exp(alpha).sum()")),
    dict(notebook=NB, grade_id="mixed_op", caught="visible",
         mistake="the weights are detached from alpha: no gradient reaches the architecture",
         source=_edit(_MIXED_OP, "weights = torch.softmax(alpha, dim=0)", "weights = torch.softmax(alpha.detach(), dim=0)")),
    dict(notebook=NB, grade_id="mixed_op", caught="visible",
         mistake="pairs the weights with the ops in reverse order",
         source=_edit(_MIXED_OP, "zip(weights, ops)", "zip(weights, reversed(ops))")),
    dict(notebook=NB, grade_id="mixed_op", caught="hidden",
         mistake="assumes exactly 5 ops (indexes range(5))",
         source=_edit(_MIXED_OP, "return sum(w * op(x) for w, op in zip(weights, ops))",
                      "return sum(weights[k] * ops[k](x) for k in range(5))")),
    dict(notebook=NB, grade_id="mixed_op", caught="hidden",
         mistake="hard-codes the visible tests' softmax weights (plain average for any other alpha)",
         source=_memorised_mixed_op()),
    # ---- arch_step
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="no zero_grad: every step adds the earlier batches' gradients again",
         source=_edit(_ARCH_STEP, "    alpha_optimizer.zero_grad()\n", "")),
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="returns the loss tensor, not a float",
         source=_edit(_ARCH_STEP, "return loss.item()", "return loss")),
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="returns the loss recomputed after the step",
         source=_edit(_ARCH_STEP, "return loss.item()", "return F.cross_entropy(net(x_val), y_val).item()")),
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="evaluates the supernet in eval mode (running BN statistics) for the architecture step",
         source=_edit(_ARCH_STEP, "    loss = F.cross_entropy(", "    net.eval()\n    loss = F.cross_entropy(")),
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="sums the per-image losses instead of averaging them",
         source=_edit(_ARCH_STEP, "F.cross_entropy(net(x_val), y_val)", "F.cross_entropy(net(x_val), y_val, reduction='sum')")),
    dict(notebook=NB, grade_id="arch_step", caught="visible",
         mistake="leaves the supernet in eval mode after the step (to 'freeze' batch norm): the next step uses running statistics",
         source=_edit(_ARCH_STEP, "    return loss.item()", "    net.eval()\n    return loss.item()")),
    dict(notebook=NB, grade_id="arch_step", caught="hidden",
         mistake="updates alpha by hand with the optimizer's learning rate (right for plain SGD only, not Adam)",
         source=_edit(_ARCH_STEP, "    alpha_optimizer.step()\n",
                      "    with torch.no_grad():\n        net.alpha -= alpha_optimizer.param_groups[0]['lr'] * net.alpha.grad\n")),
    dict(notebook=NB, grade_id="arch_step", caught="hidden",
         mistake="hard-codes the alphas and losses of the visible tests (a plain SGD step with lr 0.5 otherwise)",
         source=_memorised_arch_step()),
    # ---- discretize
    dict(notebook=NB, grade_id="discretize", caught="visible",
         mistake="ignores exclude_none: none can win",
         source=_edit(_DISCRETIZE, "    if exclude_none:\n        scores[:, OPS.index(\"none\")] = float(\"-inf\")\n", "")),
    dict(notebook=NB, grade_id="discretize", caught="visible",
         mistake="checks only the column count (one per op), not the 6 rows",
         source=_edit(_DISCRETIZE, "if tuple(alpha.shape) != (len(EDGES), len(OPS)):", "if alpha.shape[-1] != len(OPS):")),
    dict(notebook=NB, grade_id="discretize", caught="visible",
         mistake="checks only the row count (one per edge), not the 5 columns",
         source=_edit(_DISCRETIZE, "if tuple(alpha.shape) != (len(EDGES), len(OPS)):", "if alpha.shape[0] != len(EDGES):")),
    dict(notebook=NB, grade_id="discretize", caught="visible",
         mistake="rules none out on alpha itself (detach shares memory): the supernet's alpha is changed",
         source=_edit(_DISCRETIZE, "scores = alpha.detach().clone()", "scores = alpha.detach()")),
    dict(notebook=NB, grade_id="discretize", caught="visible",
         mistake="argmax over the edges (dim=0) instead of over the ops",
         source=_edit(_DISCRETIZE, "scores.argmax(dim=1)", "scores.argmax(dim=0)")),
    dict(notebook=NB, grade_id="discretize", caught="hidden",
         mistake="masks none with 0 instead of -inf: wrong when every alpha of an edge is negative",
         source=_edit(_DISCRETIZE, 'scores[:, OPS.index("none")] = float("-inf")', 'scores[:, OPS.index("none")] = 0.0')),
    dict(notebook=NB, grade_id="discretize", caught="hidden",
         mistake="checks only the first two dimensions: a (6, 5, 1) tensor slips through",
         source=_edit(_DISCRETIZE, "if tuple(alpha.shape) != (len(EDGES), len(OPS)):",
                      "if alpha.shape[0] != len(EDGES) or alpha.shape[1] != len(OPS):")),
    dict(notebook=NB, grade_id="discretize", caught="hidden",
         mistake="goes through numpy: fails on alpha as a parameter (requires grad)",
         source=_edit(_DISCRETIZE, "scores = alpha.detach().clone()", "scores = torch.from_numpy(alpha.numpy().copy())")),
    dict(notebook=NB, grade_id="discretize", caught="hidden",
         mistake="hard-codes the visible test's answers (all nor_conv_3x3 otherwise)",
         source=_MEMORISED_DISCRETIZE),
]
