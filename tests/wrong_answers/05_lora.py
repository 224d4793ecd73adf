"""Plausible wrong answers for 05_lora: each passes the visible tests and fails a hidden one.

grade_id -> the whole solution cell as a learner might write it.
"""

WRONG = {
    "05_lora.ipynb": {
        # The initialisations swapped: A zero, B random. It still starts at W (BA = 0), but
        # neither factor ever gets a gradient... B's gradient is proportional to A = 0.
        "lora_update": '''
import math


class LoRAUpdate(nn.Module):
    """W -> W + (alpha / rank) * B @ A, with A (rank, in) random and B (out, rank) zero."""

    def __init__(self, out_features: int, in_features: int, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        if rank < 1 or rank > min(in_features, out_features):
            raise ValueError(f"rank must be in 1..{min(in_features, out_features)}, got {rank}")
        self.A = nn.Parameter(torch.zeros(rank, in_features))
        self.B = nn.Parameter(torch.empty(out_features, rank))
        nn.init.kaiming_uniform_(self.B, a=math.sqrt(5))
        self.scale = alpha / rank

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        return W + self.scale * self.B @ self.A
''',
        # Targets matched as substrings of the full name: right for q_proj / v_proj, but
        # ("proj",) then also adapts q_proj, k_proj, v_proj and out_proj.
        "inject_lora": '''
def inject_lora(model: nn.Module, targets: tuple[str, ...] = ("q_proj", "v_proj"), rank: int = 8,
                alpha: float = 16.0) -> list[str]:
    """Freeze model and add a LoRAUpdate to every nn.Linear whose last name component is in targets."""
    chosen = [(name, m) for name, m in model.named_modules()
              if isinstance(m, nn.Linear) and any(t in name for t in targets)]
    if not chosen:
        raise ValueError(f"no nn.Linear named {list(targets)} in this model")
    for p in model.parameters():
        p.requires_grad_(False)
    for _, m in chosen:
        out_features, in_features = m.weight.shape
        parametrize.register_parametrization(m, "weight", LoRAUpdate(out_features, in_features, rank, alpha))
    return [name for name, _ in chosen]
''',
    }
}
