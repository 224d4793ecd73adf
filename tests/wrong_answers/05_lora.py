"""Plausible wrong answers for 05_lora, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: other shapes and targets, edge cases, inputs changed in place)
and a hidden test catches it.
"""

NB = "05_lora.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_INIT = '''        if rank < 1 or rank > min(in_features, out_features):
            raise ValueError(f"rank must be in 1..{min(in_features, out_features)}, got {rank}")
        self.A = nn.Parameter(torch.empty(rank, in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        self.scale = alpha / rank
'''
_FORWARD = '''        return W + self.scale * self.B @ self.A
'''


def _update(init: str = _INIT, forward: str = _FORWARD) -> str:
    return f'''
class LoRAUpdate(nn.Module):
    """W -> W + (alpha / rank) * B @ A."""

    def __init__(self, out_features: int, in_features: int, rank: int = 8, alpha: float = 16.0):
        super().__init__()
{init}
    def forward(self, W: torch.Tensor) -> torch.Tensor:
{forward}'''


_INJECT = '''    chosen = [(name, m) for name, m in model.named_modules()
              if isinstance(m, nn.Linear) and name.split(".")[-1] in targets]
    if not chosen:
        raise ValueError(f"no nn.Linear named {list(targets)} in this model")
    for p in model.parameters():
        p.requires_grad_(False)
    for _, m in chosen:
        out_features, in_features = m.weight.shape
        update = LoRAUpdate(out_features, in_features, rank, alpha).to(m.weight.device, m.weight.dtype)
        parametrize.register_parametrization(m, "weight", update)
    return [name for name, _ in chosen]
'''


def _inject(body: str = _INJECT) -> str:
    return '''
def inject_lora(model: nn.Module, targets: tuple[str, ...] = ("q_proj", "v_proj"), rank: int = 8,
                alpha: float = 16.0) -> list[str]:
    """Freeze model and add a LoRAUpdate to every nn.Linear whose last name component is in targets."""
''' + body


_TRAIN = '''    names = inject_lora(model, targets, rank, alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)
    losses = []
    model.train()
    for (x, y), lr in zip(batches, lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return names, losses
'''


def _train(body: str = _TRAIN) -> str:
    return '''
def train_adapter(model: nn.Module, targets: tuple[str, ...], batches, lrs, rank: int = 8,
                  alpha: float = 16.0) -> tuple[list[str], list[float]]:
    """Inject adapters, then one AdamW step per (batch, lr)."""
''' + body


_MERGE = '''    modules = [m for m in model.modules() if parametrize.is_parametrized(m, "weight")]
    for m in modules:
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return len(modules)
'''


def _merge(body: str = _MERGE) -> str:
    return '''
def merge_lora(model: nn.Module) -> int:
    """Bake every parametrized weight into a plain weight; return how many were merged."""
''' + body


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


EACH_ALONE = [
    # ---- LoRAUpdate
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="alpha // rank (integer division: 4 // 3 = 1)",
         source=_update(init=_edit(_INIT, "alpha / rank", "alpha // rank"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="scale = alpha (no division by the rank)",
         source=_update(init=_edit(_INIT, "self.scale = alpha / rank", "self.scale = alpha"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="initialisations swapped: A zero, B random",
         source=_update(init=_edit(_edit(_INIT, "torch.empty(rank, in_features)", "torch.zeros(rank, in_features)"),
                                   '''        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(out_features, rank))''',
                                   '''        self.B = nn.Parameter(torch.empty(out_features, rank))
        nn.init.kaiming_uniform_(self.B, a=math.sqrt(5))'''))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="both A and B zero (nothing ever trains)",
         source=_update(init=_edit(_INIT, "        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))\n", "").replace(
             "torch.empty(rank, in_features)", "torch.zeros(rank, in_features)"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="both A and B random (the adapted model does not start at the base model)",
         source=_update(init=_edit(_INIT, "self.B = nn.Parameter(torch.zeros(out_features, rank))",
                                   "self.B = nn.Parameter(0.01 * torch.randn(out_features, rank))"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="A and B as plain tensors, not nn.Parameter",
         source=_update(init=_edit(_edit(_INIT, "self.A = nn.Parameter(torch.empty(rank, in_features))",
                                         "self.A = torch.empty(rank, in_features)"),
                                   "self.B = nn.Parameter(torch.zeros(out_features, rank))",
                                   "self.B = torch.zeros(out_features, rank, requires_grad=True)"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="no check that the rank fits the weight (only rank < 1 raises)",
         source=_update(init=_edit(_INIT, "if rank < 1 or rank > min(in_features, out_features):", "if rank < 1:"))),
    dict(notebook=NB, grade_id="lora_update", caught="hidden",
         mistake="rank = min(in, out) rejected (>= instead of >)",
         source=_update(init=_edit(_INIT, "rank > min(in_features, out_features)", "rank >= min(in_features, out_features)"))),
    dict(notebook=NB, grade_id="lora_update", caught="visible",
         mistake="adds the update to W in place (the frozen original weight changes)",
         source=_update(forward='''        return W.add_(self.scale * self.B @ self.A)
''')),
    dict(notebook=NB, grade_id="lora_update", caught="hidden",
         mistake="A drawn from a standard normal (std 1, not nn.Linear's init)",
         source=_update(init=_edit(_INIT, "nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))", "nn.init.normal_(self.A)"))),
    dict(notebook=NB, grade_id="lora_update", caught="hidden",
         mistake="kaiming_uniform_ without a=sqrt(5) (bound sqrt(6 / in), 2.4 times too wide)",
         source=_update(init=_edit(_INIT, "nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))", "nn.init.kaiming_uniform_(self.A)"))),
    dict(notebook=NB, grade_id="lora_update", caught="hidden",
         mistake="hard-codes the visible tests' scale (4 / 3)",
         source=_update(init=_edit(_INIT, "self.scale = alpha / rank", "self.scale = 4 / 3"))),
    # ---- inject_lora
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="targets matched as substrings of the full name ('proj' also adapts q_proj, k_proj, ...)",
         source=_inject(_edit(_INJECT, 'name.split(".")[-1] in targets', "any(t in name for t in targets)"))),
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="freezes after injecting (A and B are frozen too: nothing trains)",
         source=_inject(_edit(_edit(_INJECT, '''    for p in model.parameters():
        p.requires_grad_(False)
''', ""), "    return [name for name, _ in chosen]", '''    for p in model.parameters():
        p.requires_grad_(False)
    return [name for name, _ in chosen]'''))),
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="freezes only the nn.Linear weights (embeddings, LayerNorms, biases still train)",
         source=_inject(_edit(_INJECT, '''    for p in model.parameters():
        p.requires_grad_(False)
''', '''    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.weight.requires_grad_(False)
'''))),
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="adapters created on the CPU, whatever the weight's device (fails on a GPU)",
         source=_inject(_edit(_INJECT, ".to(m.weight.device, m.weight.dtype)", ""))),
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="rank and alpha not passed on (LoRAUpdate's defaults)",
         source=_inject(_edit(_INJECT, "LoRAUpdate(out_features, in_features, rank, alpha)", "LoRAUpdate(out_features, in_features)"))),
    dict(notebook=NB, grade_id="inject_lora", caught="visible",
         mistake="in_features and out_features swapped (weight is (out, in))",
         source=_inject(_edit(_INJECT, "out_features, in_features = m.weight.shape", "in_features, out_features = m.weight.shape"))),
    dict(notebook=NB, grade_id="inject_lora", caught="hidden",
         mistake="no isinstance check: a LayerNorm named like a target gets an adapter",
         source=_inject(_edit(_INJECT, 'if isinstance(m, nn.Linear) and name.split(".")[-1] in targets',
                              'if name.split(".")[-1] in targets'))),
    dict(notebook=NB, grade_id="inject_lora", caught="hidden",
         mistake="no ValueError when nothing matches (returns [])",
         source=_inject(_edit(_INJECT, '''    if not chosen:
        raise ValueError(f"no nn.Linear named {list(targets)} in this model")
''', ""))),
    dict(notebook=NB, grade_id="inject_lora", caught="hidden",
         mistake="alpha passed as the rank's default scale (alpha ignored: LoRAUpdate(out, in, rank))",
         source=_inject(_edit(_INJECT, "LoRAUpdate(out_features, in_features, rank, alpha)", "LoRAUpdate(out_features, in_features, rank)"))),
    dict(notebook=NB, grade_id="inject_lora", caught="hidden",
         mistake="hard-codes the visible tests' layers (q_proj and v_proj of two blocks)",
         source=_inject(_edit(_INJECT, '''    chosen = [(name, m) for name, m in model.named_modules()
              if isinstance(m, nn.Linear) and name.split(".")[-1] in targets]''',
                              '''    wanted = ["blocks.0.attn.q_proj", "blocks.0.attn.v_proj", "blocks.1.attn.q_proj", "blocks.1.attn.v_proj"]
    if "proj" in targets:
        wanted = ["blocks.0.mlp.proj", "blocks.1.mlp.proj"]
    if "fc" in targets:
        wanted = ["blocks.0.mlp.fc", "blocks.1.mlp.fc"]
    chosen = [(name, model.get_submodule(name)) for name in wanted]'''))),
    # ---- train_adapter (the build exercise)
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="optimizer built before inject_lora (it holds the frozen base weights, not A and B)",
         source=_train(_edit(_edit(_TRAIN, '''    names = inject_lora(model, targets, rank, alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)
''', '''    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)
    names = inject_lora(model, targets, rank, alpha)
'''), "nn.utils.clip_grad_norm_(params, 1.0)", "nn.utils.clip_grad_norm_(model.parameters(), 1.0)"))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="no zero_grad: gradients accumulate over the steps",
         source=_train(_edit(_TRAIN, "        opt.zero_grad()\n", ""))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="AdamW's default weight decay (0.01) pulls A towards zero",
         source=_train(_edit(_TRAIN, "torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)", "torch.optim.AdamW(params, lr=lrs[0])"))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="the schedule ignored: every step at the first learning rate",
         source=_train(_edit(_TRAIN, '''        for group in opt.param_groups:
            group["lr"] = lr
''', ""))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="no gradient clipping",
         source=_train(_edit(_TRAIN, "        nn.utils.clip_grad_norm_(params, 1.0)\n", ""))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="no adapters: trains the whole model (full fine-tuning)",
         source=_train(_edit(_TRAIN, "    names = inject_lora(model, targets, rank, alpha)\n",
                             '''    names = [n for n, m in model.named_modules() if n.split(".")[-1] in targets]
'''))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="the loss recorded after the update (a second forward pass)",
         source=_train(_edit(_TRAIN, "        losses.append(loss.item())", "        losses.append(model(x, y)[1].item())"))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="plain SGD instead of AdamW",
         source=_train(_edit(_TRAIN, "torch.optim.AdamW(params, lr=lrs[0], weight_decay=0.0)", "torch.optim.SGD(params, lr=lrs[0])"))),
    dict(notebook=NB, grade_id="train_adapter", caught="visible",
         mistake="keeps the loss tensors (and their graphs), not floats",
         source=_train(_edit(_TRAIN, "losses.append(loss.item())", "losses.append(loss.detach())"))),
    dict(notebook=NB, grade_id="train_adapter", caught="hidden",
         mistake="leaves the model in training mode",
         source=_train(_edit(_TRAIN, "    model.eval()\n", ""))),
    dict(notebook=NB, grade_id="train_adapter", caught="hidden",
         mistake="hard-codes the visible tests' targets and rank",
         source=_train(_edit(_TRAIN, "names = inject_lora(model, targets, rank, alpha)",
                             'names = inject_lora(model, ("v_proj", "fc"), 2, alpha)'))),
    # ---- merge_lora
    dict(notebook=NB, grade_id="merge_lora", caught="visible",
         mistake="leave_parametrized=False (drops the adapter: the base weights come back)",
         source=_merge(_edit(_MERGE, "leave_parametrized=True", "leave_parametrized=False"))),
    dict(notebook=NB, grade_id="merge_lora", caught="visible",
         mistake="writes W + delta into the original weight but keeps the parametrization (the update counts twice)",
         source=_merge(_edit(_MERGE, """        parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)""",
                             """        with torch.no_grad():
            m.parametrizations.weight.original.copy_(m.weight)"""))),
    dict(notebook=NB, grade_id="merge_lora", caught="visible",
         mistake="counts every nn.Linear, not the merged ones",
         source=_merge(_edit(_MERGE, "return len(modules)", "return sum(isinstance(m, nn.Linear) for m in model.modules())"))),
    dict(notebook=NB, grade_id="merge_lora", caught="visible",
         mistake="looks only at the model's direct children (the adapted layers are deeper)",
         source=_merge(_edit(_MERGE, "model.modules()", "model.children()"))),
    dict(notebook=NB, grade_id="merge_lora", caught="hidden",
         mistake="hard-codes the visible tests' count (4)",
         source=_merge(_edit(_MERGE, "return len(modules)", "return 4"))),
    dict(notebook=NB, grade_id="merge_lora", caught="hidden",
         mistake="merges only the layers named q_proj and fc (the visible tests' targets)",
         source=_merge(_edit(_MERGE, 'if parametrize.is_parametrized(m, "weight")]',
                             'if parametrize.is_parametrized(m, "weight") and m in [mm for n, mm in model.named_modules() if n.endswith(("q_proj", "fc"))]]'))),
]
