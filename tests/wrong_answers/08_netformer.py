"""Plausible wrong answers for 08_netformer, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: other vocabularies and lengths, inputs changed in place, values
memorised from the visible cases) and a hidden test catches it.
"""
NB = "08_netformer.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_TOKENIZE = '''def tokenize(tokens, vocab, max_len):
    """[BOS, id(t_1), ..., id(t_n), EOS, PAD, ..., PAD], exactly max_len ids."""
    unknown = [t for t in tokens if t not in vocab.tokens]
    if unknown:
        raise ValueError(f"unknown tokens {unknown}")
    if len(tokens) + 2 > max_len:
        raise ValueError(f"{len(tokens)} tokens + BOS + EOS do not fit in max_len={max_len}")
    ids = [netformer.BOS_ID] + [vocab.stoi[t] for t in tokens] + [netformer.EOS_ID]
    return ids + [netformer.PAD_ID] * (max_len - len(ids))
'''

_LOSS = '''def sequence_vae_loss(logits, targets, mu, log_var, beta=1.0):
    """Batch mean of: cross-entropy summed over the non-PAD targets + beta * KL(q(z|x) || N(0, I))."""
    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    nll = (ce * (targets != netformer.PAD_ID)).sum(dim=1)
    kl = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
    return (nll + beta * kl).mean()
'''

_IS_VALID = '''def is_valid(layers, min_depth=2, max_depth=8, max_params=20_000, input_size=8, in_channels=1, num_classes=10):
    """True if the layer sequence is a valid network of the constrained space."""
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
    params += channels * num_classes + num_classes
    return params <= max_params
'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


EACH_ALONE = [
    # ---- tokenize
    dict(notebook=NB, grade_id="tokenize", caught="visible", mistake="no EOS: the decoder could never choose the depth",
         source=_edit(_TOKENIZE, " + [netformer.EOS_ID]\n", "\n")),
    dict(notebook=NB, grade_id="tokenize", caught="visible", mistake="no BOS at the start",
         source=_edit(_TOKENIZE, "ids = [netformer.BOS_ID] + ", "ids = ")),
    dict(notebook=NB, grade_id="tokenize", caught="visible",
         mistake="ids are positions in vocab.tokens, forgetting that the three specials come first",
         source=_edit(_TOKENIZE, "[vocab.stoi[t] for t in tokens]", "[vocab.tokens.index(t) for t in tokens]")),
    dict(notebook=NB, grade_id="tokenize", caught="visible", mistake="an unknown op becomes PAD instead of an error",
         source=_edit(_edit(_TOKENIZE, "    if unknown:\n        raise ValueError(f\"unknown tokens {unknown}\")\n", ""),
                      "[vocab.stoi[t] for t in tokens]", "[vocab.stoi.get(t, netformer.PAD_ID) for t in tokens]")),
    dict(notebook=NB, grade_id="tokenize", caught="visible", mistake="returns a tensor, not a list of ints",
         source=_edit(_TOKENIZE, "    return ids + [netformer.PAD_ID] * (max_len - len(ids))",
                      "    return torch.tensor(ids + [netformer.PAD_ID] * (max_len - len(ids)))")),
    dict(notebook=NB, grade_id="tokenize", caught="hidden",
         mistake="PAD before EOS (fill up, then close): identical when nothing needs padding, as for every NB-201 cell",
         source=_edit(_TOKENIZE, '''    ids = [netformer.BOS_ID] + [vocab.stoi[t] for t in tokens] + [netformer.EOS_ID]
    return ids + [netformer.PAD_ID] * (max_len - len(ids))''', '''    ids = [netformer.BOS_ID] + [vocab.stoi[t] for t in tokens]
    return ids + [netformer.PAD_ID] * (max_len - len(ids) - 1) + [netformer.EOS_ID]''')),
    dict(notebook=NB, grade_id="tokenize", caught="hidden", mistake="pads to 8, the NB-201 length, whatever max_len is",
         source=_edit(_TOKENIZE, "(max_len - len(ids))", "(8 - len(ids))")),
    dict(notebook=NB, grade_id="tokenize", caught="hidden",
         mistake="forgets the room EOS needs: a sequence one too long is accepted",
         source=_edit(_TOKENIZE, "if len(tokens) + 2 > max_len:", "if len(tokens) + 1 > max_len:")),
    dict(notebook=NB, grade_id="tokenize", caught="hidden", mistake="truncates a sequence that does not fit instead of refusing it",
         source=_edit(_edit(_TOKENIZE, '''    if len(tokens) + 2 > max_len:
        raise ValueError(f"{len(tokens)} tokens + BOS + EOS do not fit in max_len={max_len}")
''', ""), "[vocab.stoi[t] for t in tokens]", "[vocab.stoi[t] for t in tokens][: max_len - 2]")),
    dict(notebook=NB, grade_id="tokenize", caught="hidden", mistake="hard-codes the visible tests' expected ids",
         source='''def tokenize(tokens, vocab, max_len):
    if any(t not in vocab.tokens for t in tokens):
        raise ValueError("unknown token")
    return [1, 3, 4, 7, 7, 4, 7, 2]
'''),
    # ---- sequence_vae_loss
    dict(notebook=NB, grade_id="vae_loss", caught="visible",
         mistake="PAD targets not masked (right whenever no target is PAD)",
         source=_edit(_LOSS, "(ce * (targets != netformer.PAD_ID)).sum(dim=1)", "ce.sum(dim=1)")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="masks EOS too (choosing where to stop is part of the architecture)",
         source=_edit(_LOSS, "(targets != netformer.PAD_ID)", "(targets > netformer.EOS_ID)")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible",
         mistake="averages the token cross-entropies (nats per token) instead of summing them per sequence",
         source=_edit(_LOSS, "nll = (ce * (targets != netformer.PAD_ID)).sum(dim=1)",
                      "mask = targets != netformer.PAD_ID\n    nll = (ce * mask).sum(dim=1) / mask.sum(dim=1)")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="the KL without its ½",
         source=_edit(_LOSS, "kl = 0.5 * (", "kl = (")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="log_var read as log σ (σ² = exp(2 log_var))",
         source=_edit(_LOSS, "log_var.exp() + mu ** 2 - 1 - log_var", "(2 * log_var).exp() + mu ** 2 - 1 - 2 * log_var")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="beta ignored",
         source=_edit(_LOSS, "(nll + beta * kl)", "(nll + kl)")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="the KL averaged over z's dimensions instead of summed",
         source=_edit(_LOSS, "- 1 - log_var).sum(dim=-1)", "- 1 - log_var).mean(dim=-1)")),
    dict(notebook=NB, grade_id="vae_loss", caught="visible", mistake="returns the per-sequence losses, not their batch mean",
         source=_edit(_LOSS, "return (nll + beta * kl).mean()", "return nll + beta * kl")),
    dict(notebook=NB, grade_id="vae_loss", caught="hidden",
         mistake="writes -100 into the caller's PAD targets to use ignore_index (right value, targets changed in place)",
         source='''def sequence_vae_loss(logits, targets, mu, log_var, beta=1.0):
    targets[targets == netformer.PAD_ID] = -100
    nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none", ignore_index=-100).sum(dim=1)
    kl = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=-1)
    return (nll + beta * kl).mean()
'''),
    dict(notebook=NB, grade_id="vae_loss", caught="hidden", mistake="the vocabulary size fixed at NB-201's 8 tokens",
         source=_edit(_LOSS, 'ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")',
                      'ce = F.cross_entropy(logits.reshape(-1, 8), targets.reshape(-1), reduction="none").view(targets.shape)')),
    dict(notebook=NB, grade_id="vae_loss", caught="hidden", mistake="computes in float32 whatever the input's dtype",
         source=_edit(_LOSS, '    ce = F.cross_entropy(logits.transpose(1, 2)', '    logits, mu, log_var = logits.float(), mu.float(), log_var.float()\n    ce = F.cross_entropy(logits.transpose(1, 2)')),
    # ---- is_valid
    dict(notebook=NB, grade_id="is_valid", caught="visible", mistake="a k×k conv needs side > k (a layer that exactly fits is refused)",
         source=_edit(_IS_VALID, "if side < k:", "if side <= k:")),
    dict(notebook=NB, grade_id="is_valid", caught="visible", mistake="the depth rule forgotten",
         source=_edit(_IS_VALID, "    if not min_depth <= len(layers) <= max_depth:\n        return False\n", "")),
    dict(notebook=NB, grade_id="is_valid", caught="visible", mistake="no token check: parse_layer raises on 'relu' (is_valid must never raise)",
         source=_edit(_IS_VALID, "    if any(t not in layer_space.LAYER_TOKENS for t in layers):\n        return False\n", "")),
    dict(notebook=NB, grade_id="is_valid", caught="visible", mistake="the parameter budget not checked at all",
         source=_edit(_IS_VALID, "    return params <= max_params", "    return True")),
    dict(notebook=NB, grade_id="is_valid", caught="hidden", mistake="the classifier head's parameters forgotten",
         source=_edit(_IS_VALID, "    params += channels * num_classes + num_classes\n", "")),
    dict(notebook=NB, grade_id="is_valid", caught="hidden", mistake="conv biases not counted",
         source=_edit(_IS_VALID, "params += k * k * channels * c_out + c_out", "params += k * k * channels * c_out")),
    dict(notebook=NB, grade_id="is_valid", caught="hidden", mistake="pooling a 1×1 map accepted (the pool's size check skipped)",
         source=_edit(_IS_VALID, "        if side < k:\n            return False\n        if kind == \"pool\":",
                      "        if kind != \"pool\" and side < k:\n            return False\n        if kind == \"pool\":")),
    dict(notebook=NB, grade_id="is_valid", caught="hidden", mistake="the limits hard-coded (8, 20,000, depth 2–8) instead of the arguments",
         source=_edit(_edit(_edit(_IS_VALID, "if not min_depth <= len(layers) <= max_depth:", "if not 2 <= len(layers) <= 8:"),
                            "side, channels, params = input_size, in_channels, 0", "side, channels, params = 8, 1, 0"),
                      "return params <= max_params", "return params <= 20_000")),
    dict(notebook=NB, grade_id="is_valid", caught="hidden", mistake="hard-codes the visible tests' five cases",
         source='''def is_valid(layers, min_depth=2, max_depth=8, max_params=20_000, input_size=8, in_channels=1, num_classes=10):
    return tuple(layers) == ("conv3-8", "pool", "conv3-16")
'''),
]
