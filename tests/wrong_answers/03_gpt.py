"""Plausible wrong answers for 03_gpt: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "03_gpt.ipynb": {
        # No 1/sqrt(d) scaling: invisible when q = 0 (all scores equal), wrong against
        # scaled_dot_product_attention on random inputs.
        "causal_attention": '''
def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal scaled dot-product attention for q, k, v of shape (..., T, d); returns (..., T, d)."""
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return weights @ v
''',
        # A "parallel" block: the MLP reads ln2 of the block's INPUT, not of the stream after the
        # attention update. Identical when either sublayer is switched off (the visible tests).
        "transformer_block": '''
class Block(nn.Module):
    """A pre-norm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, config: gpt.GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = gpt.CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = gpt.MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.attn(self.ln1(x)) + self.mlp(self.ln2(x))
''',
        # Temperature applied to the probabilities after the softmax: renormalising undoes it, so
        # the temperature has no effect. Invisible at temperature 1 and with top_k = 1.
        "next_token_probs": '''
def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """Sampling distribution over the last axis: logits / temperature, keep the top_k largest, softmax."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be None or >= 1, got {top_k}")
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(dim=-1) / temperature
    return probs / probs.sum(dim=-1, keepdim=True)
''',
    },
}
