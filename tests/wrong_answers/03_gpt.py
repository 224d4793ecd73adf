"""Plausible wrong answers for 03_gpt, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: the visible shapes, a fixed constant, inputs changed in place)
and a hidden test catches it. Each is the model answer with one mistake put in (``_edit``).
"""

NB = "03_gpt.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


_ATTENTION = '''
def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal scaled dot-product attention for q, k, v of shape (..., T, d); returns (..., T, d)."""
    T, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return weights @ v
'''

_HEADS = '''
class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: (B, T, C) -> (B, T, C), with n_head heads of size d = C / n_head."""

    def __init__(self, config: gpt.GPTConfig, attend=gpt.causal_attention):
        super().__init__()
        self.n_head = config.n_head
        self.q_proj = nn.Linear(config.n_embd, config.n_embd)
        self.k_proj = nn.Linear(config.n_embd, config.n_embd)
        self.v_proj = nn.Linear(config.n_embd, config.n_embd)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attend = attend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        d = C // self.n_head
        q, k, v = (proj(x).view(B, T, self.n_head, d).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        y = self.attend(q, k, v)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))
'''

_BLOCK = '''
class Block(nn.Module):
    """A pre-norm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, config: gpt.GPTConfig, attention=gpt.CausalSelfAttention):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = attention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = gpt.MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))
'''

_SCHEDULE = '''
def lr_at(step: int, max_steps: int, peak_lr: float, warmup: float = 0.05, min_ratio: float = 0.1) -> float:
    """The learning rate before step `step` (0-based) of `max_steps`."""
    progress = step / max_steps
    if progress < warmup:
        return peak_lr * progress / warmup
    u = (progress - warmup) / (1 - warmup)
    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * u)))
'''

_STEP = '''
def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, lr: float,
               clip: float = 1.0) -> float:
    """One training step."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()
'''

_PROBS = '''
def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None) -> torch.Tensor:
    """Sampling distribution over the last axis: logits / temperature, keep the top_k largest, softmax."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be None or >= 1, got {top_k}")
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits.softmax(dim=-1)
'''


def _wrong(grade_id: str, caught: str, mistake: str, source: str) -> dict:
    return dict(notebook=NB, grade_id=grade_id, caught=caught, mistake=mistake, source=source)


EACH_ALONE = [
    # ---- causal_attention
    _wrong("causal_attention", "visible", "no 1/sqrt(d) scale (invisible when q = 0)",
           _edit(_ATTENTION, "q @ k.transpose(-2, -1) / math.sqrt(d)", "q @ k.transpose(-2, -1)")),
    _wrong("causal_attention", "visible", "masks after the softmax (zeroes the future weights, rows no longer sum to 1)",
           _edit(_ATTENTION, 'weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)',
                 "weights = scores.softmax(dim=-1).masked_fill(future, 0.0)")),
    _wrong("causal_attention", "hidden", "hard-codes the visible tests' head size (sqrt(4) = 2)",
           _edit(_ATTENTION, "/ math.sqrt(d)", "/ 2.0")),
    _wrong("causal_attention", "hidden", "scales q in place (the caller's q changes)",
           _edit(_ATTENTION, "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
                 "q /= math.sqrt(d)\n    scores = q @ k.transpose(-2, -1)")),
    # ---- multi-head attention
    _wrong("multi_head_attention", "visible", "splits with view(B, n_head, T, d): right shape, positions mixed into channels",
           _edit(_HEADS, "proj(x).view(B, T, self.n_head, d).transpose(1, 2)", "proj(x).view(B, self.n_head, T, d)")),
    _wrong("multi_head_attention", "visible", "merges with reshape(B, T, C) without transposing back",
           _edit(_HEADS, "y.transpose(1, 2).reshape(B, T, C)", "y.reshape(B, T, C)")),
    _wrong("multi_head_attention", "hidden", "hard-codes the visible tests' 4 heads",
           _edit(_HEADS, "d = C // self.n_head\n", "d = C // 4\n").replace("view(B, T, self.n_head, d)", "view(B, T, 4, d)")),
    # ---- the block
    _wrong("transformer_block", "visible", "a parallel block: the MLP reads ln2 of the block's input",
           _edit(_BLOCK, "        x = x + self.attn(self.ln1(x))\n        return x + self.mlp(self.ln2(x))",
                 "        return x + self.attn(self.ln1(x)) + self.mlp(self.ln2(x))")),
    _wrong("transformer_block", "visible", "post-norm: LN(x + attn(x)), the normalisation on the residual path",
           _edit(_BLOCK, "        x = x + self.attn(self.ln1(x))\n        return x + self.mlp(self.ln2(x))",
                 "        x = self.ln1(x + self.attn(x))\n        return self.ln2(x + self.mlp(x))")),
    _wrong("transformer_block", "hidden", "adds in place (x += ...): the caller's x changes, autograd breaks",
           _edit(_BLOCK, "        x = x + self.attn(self.ln1(x))\n        return x + self.mlp(self.ln2(x))",
                 "        x += self.attn(self.ln1(x))\n        x += self.mlp(self.ln2(x))\n        return x")),
    # ---- the learning-rate schedule
    _wrong("lr_schedule", "visible", "no warmup: starts at the peak",
           _edit(_SCHEDULE, "    if progress < warmup:\n        return peak_lr * progress / warmup\n", "")),
    _wrong("lr_schedule", "visible", "the cosine over the whole run (u = progress), not from the end of the warmup",
           _edit(_SCHEDULE, "u = (progress - warmup) / (1 - warmup)", "u = progress")),
    _wrong("lr_schedule", "visible", "decays to 0, not to min_ratio * peak_lr",
           _edit(_SCHEDULE, "peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * u)))",
                 "peak_lr * 0.5 * (1 + math.cos(math.pi * u))")),
    _wrong("lr_schedule", "hidden", "hard-codes the visible tests' values",
           _edit(_SCHEDULE, "    progress = step / max_steps\n",
                 "    known = {0: 0.0, 50: 5e-4, 100: 1e-3, 325: 1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))),\n"
                 "             550: 5.5e-4, 1000: 1e-4}\n"
                 "    if step in known:\n"
                 "        return known[step]\n"
                 "    progress = step / max_steps\n")
           .replace("peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * u)))",
                    "peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))")),
    # ---- the training step
    _wrong("train_step", "visible", "never clears the gradients (they accumulate over the steps)",
           _edit(_STEP, "    optimizer.zero_grad()\n", "")),
    _wrong("train_step", "visible", "clips after optimizer.step() (the step uses the unclipped gradients)",
           _edit(_STEP, "    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)\n    optimizer.step()\n",
                 "    optimizer.step()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)\n")),
    _wrong("train_step", "visible", "sets the learning rate of the first parameter group only",
           _edit(_STEP, '    for group in optimizer.param_groups:\n        group["lr"] = lr\n',
                 '    optimizer.param_groups[0]["lr"] = lr\n')),
    _wrong("train_step", "hidden", "hard-codes the visible tests' two parameter groups",
           _edit(_STEP, '    for group in optimizer.param_groups:\n        group["lr"] = lr\n',
                 '    optimizer.param_groups[0]["lr"] = lr\n    optimizer.param_groups[1]["lr"] = lr\n')),
    # ---- next_token_probs
    _wrong("next_token_probs", "visible", "temperature divides the probabilities after the softmax (renormalising undoes it)",
           _edit(_PROBS, "    logits = logits / temperature\n", "")
           .replace("    return logits.softmax(dim=-1)\n",
                    "    probs = logits.softmax(dim=-1) / temperature\n    return probs / probs.sum(dim=-1, keepdim=True)\n")),
    _wrong("next_token_probs", "visible", "top-k masks with 0 instead of -inf (the masked tokens keep probability)",
           _edit(_PROBS, 'logits.masked_fill(logits < kth, float("-inf"))', "logits.masked_fill(logits < kth, 0.0)")),
    _wrong("next_token_probs", "hidden", "top-k along dim=1 (right for the visible 2-D logits only)",
           _edit(_PROBS, "torch.topk(logits, top_k, dim=-1)", "torch.topk(logits, top_k, dim=1)")),
    _wrong("next_token_probs", "hidden", "divides the caller's logits in place",
           _edit(_PROBS, "    logits = logits / temperature\n", "    logits /= temperature\n")),
]
