"""Plausible wrong answers for 07_darts: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "07_darts.ipynb": {
        # A hand-written softmax: right for small alphas, NaN once exp(alpha) overflows float32.
        "mixed_op": '''
def mixed_op(x: torch.Tensor, ops, alpha: torch.Tensor) -> torch.Tensor:
    """The DARTS mixed operation: sum_k softmax(alpha)_k * ops[k](x)."""
    weights = alpha.exp() / alpha.exp().sum()
    return sum(w * op(x) for w, op in zip(weights, ops))
''',
        # No zero_grad: the first step is right, later steps add up the gradients of all batches.
        "arch_step": '''
def arch_step(net: nn.Module, alpha_optimizer: torch.optim.Optimizer, x_val: torch.Tensor,
              y_val: torch.Tensor) -> float:
    """First-order DARTS: one optimizer step on alpha with the loss of a batch of the alpha half."""
    loss = F.cross_entropy(net(x_val), y_val)
    loss.backward()
    alpha_optimizer.step()
    return loss.item()
''',
        # 'none' masked with 0 instead of -inf: right while some alpha is positive, wrong when all are negative.
        "discretize": '''
def discretize(alpha: torch.Tensor, exclude_none: bool = True) -> tuple[str, ...]:
    """The op with the largest alpha on each of the 6 edges (never 'none' if exclude_none)."""
    if tuple(alpha.shape) != (len(EDGES), len(OPS)):
        raise ValueError(f"alpha must have shape ({len(EDGES)}, {len(OPS)}), got {tuple(alpha.shape)}")
    scores = alpha.detach().clone()
    if exclude_none:
        scores[:, OPS.index("none")] = 0.0
    return tuple(OPS[k] for k in scores.argmax(dim=1).tolist())
''',
    }
}
