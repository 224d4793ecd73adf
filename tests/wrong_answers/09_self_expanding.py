"""Plausible wrong answers for 09_self_expanding: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "09_self_expanding.ipynb": {
        # The damping added to every entry of F (F + damping) instead of its diagonal (F + damping * I):
        # the visible tests use no damping in the hand case and a tiny one elsewhere.
        "expansion_score": '''
def natural_expansion_score(g: torch.Tensor, fisher: torch.Tensor, damping: float = 1e-3) -> torch.Tensor:
    """eta = g^T (F + damping I)^-1 g for g (..., P) and fisher (..., P, P); leading dimensions broadcast."""
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if g.ndim < 1 or fisher.ndim < 2 or fisher.shape[-1] != fisher.shape[-2] or fisher.shape[-1] != g.shape[-1]:
        raise ValueError(f"need g (..., P) and fisher (..., P, P), got {tuple(g.shape)} and {tuple(fisher.shape)}")
    solved = torch.linalg.solve(fisher + damping, g.unsqueeze(-1)).squeeze(-1)
    return (g * solved).sum(-1)
''',
        # The new neuron's bias left at zero instead of b_in: the function is still preserved (its
        # outgoing weights are zero), and the visible tests only look at its incoming weights.
        "add_neuron": '''
def add_neuron(fc_in: nn.Linear, fc_out: nn.Linear, w_in: torch.Tensor, b_in: float) -> tuple[nn.Linear, nn.Linear]:
    """New copies of fc_in, fc_out with one more hidden neuron (last): incoming w_in, bias b_in, outgoing zeros."""
    if fc_in.out_features != fc_out.in_features:
        raise ValueError(f"fc_in has {fc_in.out_features} outputs but fc_out has {fc_out.in_features} inputs")
    w_in = torch.as_tensor(w_in, dtype=fc_in.weight.dtype).reshape(-1)
    if w_in.numel() != fc_in.in_features:
        raise ValueError(f"w_in needs {fc_in.in_features} weights, got {w_in.numel()}")
    width = fc_in.out_features
    new_in = nn.Linear(fc_in.in_features, width + 1)
    new_out = nn.Linear(width + 1, fc_out.out_features)
    with torch.no_grad():
        new_in.weight.copy_(torch.cat([fc_in.weight, w_in[None]], dim=0))
        new_in.bias.copy_(torch.cat([fc_in.bias, torch.zeros(1)]))
        new_out.weight.copy_(torch.cat([fc_out.weight, torch.zeros(fc_out.out_features, 1)], dim=1))
        new_out.bias.copy_(fc_out.bias)
    return new_in, new_out
''',
        # CSR with `rows` row pointers instead of rows + 1 (the classic off-by-one): the visible tests
        # only compare CSR with COO and look at the cost of one more non-zero.
        "sparse_memory": '''
def sparse_memory_bytes(shape: tuple[int, int], nnz: int, layout: str = "coo", value_bytes: int = 4,
                        index_bytes: int = 8) -> int:
    """Bytes to store a (rows, cols) matrix with nnz non-zeros as "dense", "coo" or "csr"."""
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError(f"shape must be (rows, cols), got {shape}")
    rows, cols = shape
    if not 0 <= nnz <= rows * cols:
        raise ValueError(f"nnz must be in [0, {rows * cols}], got {nnz}")
    if layout == "dense":
        return rows * cols * value_bytes
    if layout == "coo":
        return nnz * (value_bytes + 2 * index_bytes)
    if layout == "csr":
        return nnz * (value_bytes + index_bytes) + rows * index_bytes
    raise ValueError(f"layout must be 'dense', 'coo' or 'csr', got {layout!r}")
''',
    },
}
