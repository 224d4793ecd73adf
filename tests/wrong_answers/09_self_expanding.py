"""Plausible wrong answers for 09_self_expanding, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: values memorised from the visible cases, an input changed in
place, an edge case the visible tests do not reach) and a hidden test catches it.
"""
NB = "09_self_expanding.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cell: each submission skips the experiments

_SCORE = '''def natural_expansion_score(g: torch.Tensor, fisher: torch.Tensor, damping: float = 1e-3) -> torch.Tensor:
    """eta = g^T (F + damping I)^-1 g for g (..., P) and fisher (..., P, P); leading dimensions broadcast."""
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if g.ndim < 1 or fisher.ndim < 2 or fisher.shape[-1] != fisher.shape[-2] or fisher.shape[-1] != g.shape[-1]:
        raise ValueError(f"need g (..., P) and fisher (..., P, P), got {tuple(g.shape)} and {tuple(fisher.shape)}")
    eye = torch.eye(g.shape[-1], dtype=fisher.dtype, device=fisher.device)
    solved = torch.linalg.solve(fisher + damping * eye, g.unsqueeze(-1)).squeeze(-1)
    return (g * solved).sum(-1)
'''

_ADD_NEURON = '''def add_neuron(fc_in: nn.Linear, fc_out: nn.Linear, w_in: torch.Tensor, b_in: float) -> tuple[nn.Linear, nn.Linear]:
    """New copies of fc_in, fc_out with one more hidden neuron (last): incoming w_in, bias b_in, outgoing zeros."""
    if fc_in.out_features != fc_out.in_features:
        raise ValueError(f"fc_in has {fc_in.out_features} outputs but fc_out has {fc_out.in_features} inputs")
    w_in = torch.as_tensor(w_in, dtype=fc_in.weight.dtype).reshape(-1)
    if w_in.numel() != fc_in.in_features:
        raise ValueError(f"w_in needs {fc_in.in_features} weights, got {w_in.numel()}")
    width = fc_in.out_features
    new_in = nn.Linear(fc_in.in_features, width + 1, dtype=fc_in.weight.dtype)
    new_out = nn.Linear(width + 1, fc_out.out_features, dtype=fc_out.weight.dtype)
    with torch.no_grad():
        new_in.weight.copy_(torch.cat([fc_in.weight, w_in[None]], dim=0))
        new_in.bias.copy_(torch.cat([fc_in.bias, torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)]))
        new_out.weight.copy_(torch.cat([fc_out.weight, torch.zeros(fc_out.out_features, 1, dtype=fc_out.weight.dtype)], dim=1))
        new_out.bias.copy_(fc_out.bias)
    return new_in, new_out
'''

_CHOOSE = '''def choose_candidate(eta, gains: torch.Tensor, tau: float, min_gain: float) -> int | None:
    """The index of the best candidate if gain > tau * eta and gain / 2 > min_gain, else None."""
    if gains.numel() == 0:
        return None
    best = int(gains.argmax())
    gain = float(gains[best])
    if gain > tau * float(eta) and gain / 2 > min_gain:
        return best
    return None
'''

_SPARSE = '''def sparse_memory_bytes(shape: tuple[int, int], nnz: int, layout: str = "coo", value_bytes: int = 4,
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
        return nnz * (value_bytes + index_bytes) + (rows + 1) * index_bytes
    raise ValueError(f"layout must be 'dense', 'coo' or 'csr', got {layout!r}")
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


# ---- memorised answers: the visible tests' values, hard-coded

_MEMORISED_SCORE = '''def natural_expansion_score(g, fisher, damping=1e-3):
    """Knows the visible hand cases; g^T F g (no inverse, no damping) otherwise."""
    if g.shape == (1,) and float(g[0]) == 2.0:
        return torch.tensor(1.0)
    if g.shape == (2,) and damping == 1.0:
        return torch.tensor(1.5)
    if g.abs().sum() == 0:
        return torch.zeros(g.shape[:-1], dtype=g.dtype)
    return (g * (fisher @ g.unsqueeze(-1)).squeeze(-1)).sum(-1)
'''

_MEMORISED_ADD_NEURON = '''def add_neuron(fc_in, fc_out, w_in, b_in):
    """The visible test's sizes hard-coded: 3 inputs, 3 hidden units, 4 outputs."""
    new_in, new_out = nn.Linear(3, 3), nn.Linear(3, 4)
    with torch.no_grad():
        new_in.weight.copy_(torch.cat([fc_in.weight, torch.as_tensor(w_in).reshape(1, -1)], dim=0))
        new_in.bias.copy_(torch.cat([fc_in.bias, torch.tensor([float(b_in)])]))
        new_out.weight.copy_(torch.cat([fc_out.weight, torch.zeros(4, 1)], dim=1))
        new_out.bias.copy_(fc_out.bias)
    return new_in, new_out
'''

_MEMORISED_CHOOSE = '''KNOWN = {(0.02, (0.01, 0.09, 0.04), 1.0, 0.005): 1, (0.1, (0.15, 0.25), 2.0, 0.0): 1,
         (0.001, (0.012, 0.03), 1.0, 0.01): 1, (0.001, (0.015, 0.012), 1.0, 0.01): None,
         (0.0, (0.0001, 0.0003), 1.0, 0.005): None}


def choose_candidate(eta, gains, tau, min_gain):
    """Replays the visible tests' answers; grows whenever there is a candidate otherwise."""
    key = (round(float(eta), 6), tuple(round(x, 6) for x in gains.tolist()), tau, min_gain)
    if key in KNOWN:
        return KNOWN[key]
    return None if gains.numel() == 0 or float(eta) > 0.005 else int(gains.argmax())
'''

_MEMORISED_SPARSE = '''KNOWN = {((100, 50), 10, "dense"): 20_000, ((100, 50), 10, "coo"): 200, ((100, 50), 1000, "csr"): 12_808,
         ((100, 50), 1000, "coo"): 20_000, ((100, 50), 1001, "csr"): 12_820}


def sparse_memory_bytes(shape, nnz, layout="coo", value_bytes=4, index_bytes=8):
    """Replays the visible tests' byte counts; 4-byte values and 8-byte indices otherwise, whatever is asked."""
    if layout not in ("dense", "coo", "csr"):
        raise ValueError(layout)
    if (tuple(shape), nnz, layout) in KNOWN:
        return KNOWN[(tuple(shape), nnz, layout)]
    rows, cols = shape
    return {"dense": rows * cols * 4, "coo": nnz * 20, "csr": nnz * 12 + (rows + 1) * 8}[layout]
'''


EACH_ALONE = [
    # ---- the natural expansion score
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="the damping added to every entry of F (F + damping) instead of its diagonal (F + damping * I)",
         source=_edit(_SCORE, "fisher + damping * eye", "fisher + damping")),
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="the damping ignored (solves F x = g)",
         source=_edit(_SCORE, "fisher + damping * eye", "fisher")),
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="g^T F g: multiplies by the Fisher instead of solving with it",
         source=_edit(_SCORE, "torch.linalg.solve(fisher + damping * eye, g.unsqueeze(-1))",
                      "((fisher + damping * eye) @ g.unsqueeze(-1))")),
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="returns the predicted decrease eta / 2 instead of eta",
         source=_edit(_SCORE, "return (g * solved).sum(-1)", "return (g * solved).sum(-1) / 2")),
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="g @ solved: a matrix of all pairs of candidates for a batch, not one score per candidate",
         source=_edit(_SCORE, "return (g * solved).sum(-1)", "return g @ solved.transpose(-1, -2) if g.ndim > 1 else g @ solved")),
    dict(notebook=NB, grade_id="expansion_score", caught="visible",
         mistake="adds the damping to the caller's Fisher in place (fisher.diagonal().add_)",
         source=_edit(_SCORE, "    solved = torch.linalg.solve(fisher + damping * eye,",
                      "    fisher.diagonal(dim1=-2, dim2=-1).add_(damping)\n    solved = torch.linalg.solve(fisher,")),
    dict(notebook=NB, grade_id="expansion_score", caught="hidden",
         mistake="solve(F, g) without unsqueeze: works for a batch of Fishers, fails for one shared (P, P) Fisher",
         source=_edit(_SCORE, "torch.linalg.solve(fisher + damping * eye, g.unsqueeze(-1)).squeeze(-1)",
                      "torch.linalg.solve(fisher + damping * eye, g)")),
    dict(notebook=NB, grade_id="expansion_score", caught="hidden",
         mistake="no input checks (a negative damping or mismatched shapes are not refused)",
         source=_edit(_SCORE, '''    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if g.ndim < 1 or fisher.ndim < 2 or fisher.shape[-1] != fisher.shape[-2] or fisher.shape[-1] != g.shape[-1]:
        raise ValueError(f"need g (..., P) and fisher (..., P, P), got {tuple(g.shape)} and {tuple(fisher.shape)}")
''', "")),
    dict(notebook=NB, grade_id="expansion_score", caught="hidden",
         mistake="hard-codes the visible tests' hand cases (g^T F g otherwise)",
         source=_MEMORISED_SCORE),
    # ---- add_neuron
    dict(notebook=NB, grade_id="add_neuron", caught="visible",
         mistake="the new neuron's outgoing weights left at nn.Linear's random initialisation (the function changes)",
         source=_edit(_ADD_NEURON, "torch.zeros(fc_out.out_features, 1, dtype=fc_out.weight.dtype)",
                      "new_out.weight[:, -1:].clone()")),
    dict(notebook=NB, grade_id="add_neuron", caught="visible",
         mistake="zeros on the wrong side: zero incoming weights and bias, small random outgoing weights "
                 "(the function is preserved, tanh(0) = 0, but the feature is dead)",
         source=_edit(_edit(_edit(_ADD_NEURON, "torch.cat([fc_in.weight, w_in[None]], dim=0)",
                                  "torch.cat([fc_in.weight, torch.zeros_like(w_in)[None]], dim=0)"),
                            "torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)", "torch.zeros(1, dtype=fc_in.bias.dtype)"),
                      "torch.zeros(fc_out.out_features, 1, dtype=fc_out.weight.dtype)",
                      "0.1 * torch.randn(fc_out.out_features, 1, dtype=fc_out.weight.dtype)")),
    dict(notebook=NB, grade_id="add_neuron", caught="visible",
         mistake="the new neuron put first instead of last",
         source=_edit(_edit(_ADD_NEURON, "torch.cat([fc_in.weight, w_in[None]], dim=0)", "torch.cat([w_in[None], fc_in.weight], dim=0)"),
                      "torch.cat([fc_in.bias, torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)])",
                      "torch.cat([torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1), fc_in.bias])")),
    dict(notebook=NB, grade_id="add_neuron", caught="visible",
         mistake="the old output bias not copied (new_out keeps its random bias)",
         source=_edit(_ADD_NEURON, "        new_out.bias.copy_(fc_out.bias)\n", "")),
    dict(notebook=NB, grade_id="add_neuron", caught="hidden",
         mistake="the new neuron's bias left at zero instead of b_in (the function is still preserved)",
         source=_edit(_ADD_NEURON, "torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)", "torch.zeros(1, dtype=fc_in.bias.dtype)")),
    dict(notebook=NB, grade_id="add_neuron", caught="hidden",
         mistake="grows the caller's layers in place (replaces their parameters) and returns them",
         source=_edit(_ADD_NEURON, '''    width = fc_in.out_features
    new_in = nn.Linear(fc_in.in_features, width + 1, dtype=fc_in.weight.dtype)
    new_out = nn.Linear(width + 1, fc_out.out_features, dtype=fc_out.weight.dtype)
    with torch.no_grad():
        new_in.weight.copy_(torch.cat([fc_in.weight, w_in[None]], dim=0))
        new_in.bias.copy_(torch.cat([fc_in.bias, torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)]))
        new_out.weight.copy_(torch.cat([fc_out.weight, torch.zeros(fc_out.out_features, 1, dtype=fc_out.weight.dtype)], dim=1))
        new_out.bias.copy_(fc_out.bias)
    return new_in, new_out
''', '''    with torch.no_grad():
        fc_in.weight = nn.Parameter(torch.cat([fc_in.weight, w_in[None]], dim=0))
        fc_in.bias = nn.Parameter(torch.cat([fc_in.bias, torch.as_tensor(b_in, dtype=fc_in.bias.dtype).reshape(1)]))
        fc_out.weight = nn.Parameter(torch.cat([fc_out.weight, torch.zeros(fc_out.out_features, 1)], dim=1))
    fc_in.out_features += 1
    fc_out.in_features += 1
    return fc_in, fc_out
''')),
    dict(notebook=NB, grade_id="add_neuron", caught="hidden",
         mistake="new layers always float32 (nn.Linear's default dtype): float64 layers come back float32",
         source=_ADD_NEURON.replace(", dtype=fc_in.weight.dtype)", ")").replace(", dtype=fc_out.weight.dtype)", ")")),
    dict(notebook=NB, grade_id="add_neuron", caught="hidden",
         mistake="no check that the layers fit together or that w_in has in_features numbers",
         source=_edit(_edit(_ADD_NEURON, '''    if fc_in.out_features != fc_out.in_features:
        raise ValueError(f"fc_in has {fc_in.out_features} outputs but fc_out has {fc_out.in_features} inputs")
''', ""), '''    if w_in.numel() != fc_in.in_features:
        raise ValueError(f"w_in needs {fc_in.in_features} weights, got {w_in.numel()}")
''', "")),
    dict(notebook=NB, grade_id="add_neuron", caught="hidden",
         mistake="hard-codes the visible test's layer sizes (3 inputs, 3 hidden units, 4 outputs)",
         source=_MEMORISED_ADD_NEURON),
    # ---- the expansion decision
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="compares the new score eta' = eta + gain with tau * eta instead of the gain",
         source=_edit(_CHOOSE, "if gain > tau * float(eta) and", "if float(eta) + gain > tau * float(eta) and")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="forgets the 1/2: compares the gain itself with the price",
         source=_edit(_CHOOSE, "gain / 2 > min_gain", "gain > min_gain")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="takes the candidate with the smallest gain (argmin)",
         source=_edit(_CHOOSE, "gains.argmax()", "gains.argmin()")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="ignores the price min_gain (the relative rule alone)",
         source=_edit(_CHOOSE, " and gain / 2 > min_gain", "")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="ignores tau (gain > eta)",
         source=_edit(_CHOOSE, "gain > tau * float(eta)", "gain > float(eta)")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="no check for an empty gains tensor (argmax of nothing raises)",
         source=_edit(_CHOOSE, "    if gains.numel() == 0:\n        return None\n", "")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="returns -1 instead of None when nothing grows",
         source=_CHOOSE.replace("return None", "return -1")),
    dict(notebook=NB, grade_id="choose_candidate", caught="visible",
         mistake="returns the index as a tensor (gains.argmax()), not an int",
         source=_edit(_CHOOSE, "best = int(gains.argmax())", "best = gains.argmax()")),
    dict(notebook=NB, grade_id="choose_candidate", caught="hidden",
         mistake=">= instead of > (grows when the gain only equals tau * eta or the price)",
         source=_edit(_edit(_CHOOSE, "gain > tau * float(eta)", "gain >= tau * float(eta)"), "gain / 2 > min_gain", "gain / 2 >= min_gain")),
    dict(notebook=NB, grade_id="choose_candidate", caught="hidden",
         mistake="sorts the candidates and takes the last: on a tie, the last of equal gains, not the first",
         source=_edit(_CHOOSE, "best = int(gains.argmax())", "best = sorted(range(len(gains)), key=lambda i: float(gains[i]))[-1]")),
    dict(notebook=NB, grade_id="choose_candidate", caught="hidden",
         mistake="subtracts tau * eta from the caller's gains in place (gains -= ...), then tests the rules on what is left",
         source=_edit(_edit(_CHOOSE, "    best = int(gains.argmax())\n", "    gains -= tau * float(eta)\n    best = int(gains.argmax())\n"),
                      "if gain > tau * float(eta) and gain / 2 > min_gain:", "if gain > 0 and (gain + tau * float(eta)) / 2 > min_gain:")),
    dict(notebook=NB, grade_id="choose_candidate", caught="hidden",
         mistake="hard-codes the visible tests' answers (grows whenever eta is small otherwise)",
         source=_MEMORISED_CHOOSE),
    # ---- sparse memory
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="CSR with rows row pointers instead of rows + 1 (the end of the last row forgotten)",
         source=_edit(_SPARSE, "(rows + 1) * index_bytes", "rows * index_bytes")),
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="CSR's row pointers counted with value_bytes instead of index_bytes",
         source=_edit(_SPARSE, "(rows + 1) * index_bytes", "(rows + 1) * value_bytes")),
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="CSR pointers per column (cols + 1) instead of per row",
         source=_edit(_SPARSE, "(rows + 1) * index_bytes", "(cols + 1) * index_bytes")),
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="COO with one index per non-zero instead of a (row, col) pair",
         source=_edit(_SPARSE, "nnz * (value_bytes + 2 * index_bytes)", "nnz * (value_bytes + index_bytes)")),
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="dense counts entries, not bytes (value_bytes forgotten)",
         source=_edit(_SPARSE, "return rows * cols * value_bytes", "return rows * cols")),
    dict(notebook=NB, grade_id="sparse_memory", caught="visible",
         mistake="an unknown layout falls through to CSR (no ValueError)",
         source=_edit(_SPARSE, 'if layout == "csr":\n        return', 'return').replace(
             "\n    raise ValueError(f\"layout must be 'dense', 'coo' or 'csr', got {layout!r}\")", "")),
    dict(notebook=NB, grade_id="sparse_memory", caught="hidden",
         mistake="8-byte indices hard-coded (index_bytes ignored: int32 indices counted as int64)",
         source=_SPARSE.replace("* index_bytes", "* 8").replace("2 * index_bytes", "2 * 8").replace("value_bytes + index_bytes", "value_bytes + 8")),
    dict(notebook=NB, grade_id="sparse_memory", caught="hidden",
         mistake="4-byte values hard-coded (value_bytes ignored: float64 counted as float32)",
         source=_SPARSE.replace("* value_bytes", "* 4").replace("(value_bytes +", "(4 +")),
    dict(notebook=NB, grade_id="sparse_memory", caught="hidden",
         mistake="bytes as a float (float(...)), not an int",
         source=_SPARSE.replace("return rows * cols * value_bytes", "return float(rows * cols * value_bytes)")
                       .replace("return nnz * (value_bytes + 2 * index_bytes)", "return float(nnz * (value_bytes + 2 * index_bytes))")),
    dict(notebook=NB, grade_id="sparse_memory", caught="hidden",
         mistake="no check of nnz (more non-zeros than entries, or a negative count, are accepted)",
         source=_edit(_SPARSE, '''    if not 0 <= nnz <= rows * cols:
        raise ValueError(f"nnz must be in [0, {rows * cols}], got {nnz}")
''', "")),
    dict(notebook=NB, grade_id="sparse_memory", caught="hidden",
         mistake="hard-codes the visible tests' byte counts (4-byte values and 8-byte indices otherwise)",
         source=_MEMORISED_SPARSE),
]
