"""Plausible wrong answers for 08_netformer: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "08_netformer.ipynb": {
        # PAD placed before EOS ("fill up, then close"): identical when nothing needs padding,
        # which is the case for every NB-201 cell (6 ops, max_len 8) in the visible tests.
        "tokenize": '''
def tokenize(tokens: Sequence[str], vocab: netformer.Vocab, max_len: int) -> list[int]:
    """[BOS, id(t_1), ..., id(t_n), EOS, PAD, ..., PAD], exactly max_len ids."""
    if any(t not in vocab.tokens for t in tokens):
        raise ValueError("unknown token")
    if len(tokens) + 2 > max_len:
        raise ValueError("too long")
    ids = [netformer.BOS_ID] + [vocab.stoi[t] for t in tokens]
    return ids + [netformer.PAD_ID] * (max_len - len(ids) - 1) + [netformer.EOS_ID]
''',
        # PAD targets not masked: right whenever no target is PAD (the visible NB-201 batch).
        "vae_loss": '''
def sequence_vae_loss(logits: torch.Tensor, targets: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                      beta: float = 1.0) -> torch.Tensor:
    """Batch mean of: cross-entropy summed over the non-PAD targets + beta * KL(q(z|x) || N(0, I))."""
    nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(dim=1)
    kl = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
    return (nll + beta * kl).mean()
''',
        # The classifier head's parameters forgotten: the visible networks are far from the budget.
        "is_valid": '''
def is_valid(layers: Sequence[str], min_depth: int = 2, max_depth: int = 8, max_params: int = 20_000,
             input_size: int = 8, in_channels: int = 1, num_classes: int = 10) -> bool:
    """True if the layer sequence is a valid network of the constrained space (rules (1)-(4) above)."""
    if any(t not in layer_space.LAYER_TOKENS for t in layers):
        return False
    if not min_depth <= len(layers) <= max_depth:
        return False
    side, channels, params = input_size, in_channels, 0
    for token in layers:
        kind, k, c_out = layer_space.parse_layer(token)
        if side < k:
            return False
        if kind == "pool":
            side //= 2
        else:
            side = side - k + 1
            params += k * k * channels * c_out + c_out
            channels = c_out
    return params <= max_params
''',
    },
}
