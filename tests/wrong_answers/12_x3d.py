"""Plausible wrong answers for 12_x3d, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: edge cases the prose states, inputs changed in place) and a
hidden test catches it.
"""

NB = "12_x3d.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_CHECK = '''    for name, value in (("num_frames", num_frames), ("frames", frames), ("stride", stride)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
'''


def _sampler(body: str, check: str = _CHECK) -> str:
    return '''
def sample_indices(num_frames: int, frames: int, stride: int) -> torch.Tensor:
    """Indices (frames,) int64 of a centred clip, clamped."""
''' + check + body


_INIT = '''        self.conv_a = nn.Conv3d(in_width, inner, 1, bias=False)
        self.norm_a = nn.BatchNorm3d(inner)
        self.conv_b = nn.Conv3d(inner, inner, 3, stride=(1, stride, stride), padding=1, groups=inner, bias=False)
        self.norm_b = nn.BatchNorm3d(inner)
        self.se = SqueezeExcitation(inner) if se else None
        self.conv_c = nn.Conv3d(inner, width, 1, bias=False)
        self.norm_c = nn.BatchNorm3d(width)
        nn.init.zeros_(self.norm_c.weight)
        project = in_width != width or stride != 1
        self.shortcut = nn.Conv3d(in_width, width, 1, stride=(1, stride, stride), bias=False) if project else None
        self.shortcut_norm = nn.BatchNorm3d(width) if in_width != width else None
'''

_FORWARD = '''        shortcut = x if self.shortcut is None else self.shortcut(x)
        if self.shortcut_norm is not None:
            shortcut = self.shortcut_norm(shortcut)
        out = F.relu(self.norm_a(self.conv_a(x)))
        out = self.norm_b(self.conv_b(out))
        if self.se is not None:
            out = self.se(out)
        out = out * torch.sigmoid(out)
        out = self.norm_c(self.conv_c(out))
        return F.relu(shortcut + out)
'''


def _block(init: str = _INIT, forward: str = _FORWARD) -> str:
    return f'''
class XBlock(nn.Module):
    """X3D's residual block."""

    def __init__(self, in_width: int, inner: int, width: int, stride: int = 1, se: bool = False):
        super().__init__()
{init}
    def forward(self, x: torch.Tensor) -> torch.Tensor:
{forward}'''


def _edit(text: str, old: str, new: str) -> str:
    """The model answer ``text`` with one mistake put in (``old`` must be there)."""
    assert old in text, old
    return text.replace(old, new)


_ROUND = '''    scaled = width * multiplier
    rounded = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)
'''

_EXPAND = '''    base_widths = [12]
    for _ in range(3):
        base_widths.append(round_width(base_widths[-1], 2.0))
    stages = []
    for base_width, base_depth in zip(base_widths, (1, 2, 5, 3)):
        width = round_width(base_width, factors.width)
        stages.append(StageConfig(width, math.ceil(base_depth * factors.depth), int(factors.bottleneck * width)))
    return stages
'''


def _expansion(round_body: str = _ROUND, expand_body: str = _EXPAND) -> str:
    return f'''
import math


def round_width(width: float, multiplier: float, divisor: int = 8, min_width: int = 8) -> int:
    """width * multiplier rounded to a multiple of divisor."""
{round_body}

def expand_stages(factors: X3DFactors) -> list[StageConfig]:
    """The four stages."""
{expand_body}'''



EACH_ALONE = [
    # ---- sample_indices
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="span = frames * stride (the clip starts stride / 2 frames early)",
         source=_sampler('''    span = frames * stride
    start = (num_frames - span) // 2
    return (start + stride * torch.arange(frames)).clamp(0, num_frames - 1)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="the clip from the first frame, not the centre",
         source=_sampler('''    return (stride * torch.arange(frames)).clamp(0, num_frames - 1)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="round() instead of floor division for the start",
         source=_sampler('''    span = (frames - 1) * stride + 1
    start = round((num_frames - span) / 2)
    return (start + stride * torch.arange(frames)).clamp(0, num_frames - 1)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="no clamp: a short video gives negative indices",
         source=_sampler('''    span = (frames - 1) * stride + 1
    start = (num_frames - span) // 2
    return start + stride * torch.arange(frames)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="torch.linspace over the whole video (ignores the stride), float indices",
         source=_sampler('''    return torch.linspace(0, num_frames - 1, frames)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="no argument checks (frames = 0 returns an empty clip)",
         source=_sampler('''    span = (frames - 1) * stride + 1
    start = (num_frames - span) // 2
    return (start + stride * torch.arange(frames)).clamp(0, num_frames - 1)
''', check="")),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="int() truncation instead of floor for the start (differs when it is negative)",
         source=_sampler('''    span = (frames - 1) * stride + 1
    start = int((num_frames - span) / 2)
    return (start + stride * torch.arange(frames)).clamp(0, num_frames - 1)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="visible",
         mistake="clamps the start to 0 instead of each index (a short video's clip is not centred)",
         source=_sampler('''    span = (frames - 1) * stride + 1
    start = max(0, (num_frames - span) // 2)
    idx = start + stride * torch.arange(frames)
    return idx.clamp(max=num_frames - 1)
''')),
    dict(notebook=NB, grade_id="sample_indices", caught="hidden",
         mistake="hard-codes the visible cases' answers",
         source=_sampler('''    known = {(64, 4, 8): [19, 27, 35, 43], (10, 4, 8): [0, 0, 8, 9], (300, 16, 5): list(range(112, 188, 5))}
    if (num_frames, frames, stride) in known:
        return torch.tensor(known[(num_frames, frames, stride)])
    start = num_frames // 2 - frames // 2 * stride
    return (start + stride * torch.arange(frames)).clamp(0, num_frames - 1)
''')),
    # ---- XBlock
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="a dense 3x3x3 conv (no groups)",
         source=_block(init=_edit(_INIT, "padding=1, groups=inner, bias=False)", "padding=1, bias=False)"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="a 1x3x3 (spatial only) channel-wise conv",
         source=_block(init=_edit(_INIT, "nn.Conv3d(inner, inner, 3, stride=(1, stride, stride), padding=1,",
                                  "nn.Conv3d(inner, inner, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1),"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="strides time too (stride=stride in every dimension)",
         source=_block(init=_edit(_INIT, "nn.Conv3d(inner, inner, 3, stride=(1, stride, stride)", "nn.Conv3d(inner, inner, 3, stride=stride")
                       .replace("nn.Conv3d(in_width, width, 1, stride=(1, stride, stride)", "nn.Conv3d(in_width, width, 1, stride=stride"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="ReLU instead of swish after the channel-wise conv",
         source=_block(forward=_edit(_FORWARD, "out = out * torch.sigmoid(out)", "out = F.relu(out)"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="swish before squeeze-excitation",
         source=_block(forward=_edit(_FORWARD, '''        if self.se is not None:
            out = self.se(out)
        out = out * torch.sigmoid(out)
''', '''        out = out * torch.sigmoid(out)
        if self.se is not None:
            out = self.se(out)
'''))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="no residual: returns ReLU(branch)",
         source=_block(forward=_edit(_FORWARD, "return F.relu(shortcut + out)", "return F.relu(out)"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="no ReLU after the sum",
         source=_block(forward=_edit(_FORWARD, "return F.relu(shortcut + out)", "return shortcut + out"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="norm_c not zero-initialised (a fresh block is not the identity path)",
         source=_block(init=_edit(_INIT, "        nn.init.zeros_(self.norm_c.weight)\n", ""))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="squeeze-excitation in every block (ignores se)",
         source=_block(init=_edit(_INIT, "self.se = SqueezeExcitation(inner) if se else None", "self.se = SqueezeExcitation(inner)"))),
    dict(notebook=NB, grade_id="xblock", caught="visible",
         mistake="BN after the ReLU in the first layer (conv, ReLU, BN)",
         source=_block(forward=_edit(_FORWARD, "out = F.relu(self.norm_a(self.conv_a(x)))", "out = self.norm_a(F.relu(self.conv_a(x)))"))),
    dict(notebook=NB, grade_id="xblock", caught="hidden",
         mistake="projects the shortcut only when the width changes (a strided block of equal width breaks)",
         source=_block(init=_edit(_INIT, "project = in_width != width or stride != 1", "project = in_width != width"))),
    dict(notebook=NB, grade_id="xblock", caught="hidden",
         mistake="a BN after every projection (pytorchvideo's rule: only when the width changes)",
         source=_block(init=_edit(_INIT, "self.shortcut_norm = nn.BatchNorm3d(width) if in_width != width else None",
                                  "self.shortcut_norm = nn.BatchNorm3d(width) if project else None"))),
    dict(notebook=NB, grade_id="xblock", caught="hidden",
         mistake="adds the branch to the shortcut in place (the caller's x when there is no projection)",
         source=_block(forward=_edit(_FORWARD, "return F.relu(shortcut + out)", '''shortcut += out
        return F.relu(shortcut)'''))),
    # ---- round_width and expand_stages
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="depth rounded to nearest (round) instead of up (ceil)",
         source=_expansion(expand_body=_edit(_EXPAND, "math.ceil(base_depth * factors.depth)", "round(base_depth * factors.depth)"))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="widths not rounded to multiples of 8 (int(width * multiplier))",
         source=_expansion(round_body='''    return int(width * multiplier)
''')),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="round_width without the 10 % rule",
         source=_expansion(round_body=_edit(_ROUND, '''    if rounded < 0.9 * scaled:
        rounded += divisor
''', ""))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="round_width rounds down (floor) instead of to the nearest multiple",
         source=_expansion(round_body=_edit(_ROUND, "int(scaled + divisor / 2) // divisor * divisor", "int(scaled) // divisor * divisor"))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="round_width with Python's round() (ties to even: 100 -> 96)",
         source=_expansion(round_body=_edit(_ROUND, "int(scaled + divisor / 2) // divisor * divisor", "round(scaled / divisor) * divisor"))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="inner width from the base (unexpanded) width",
         source=_expansion(expand_body=_edit(_EXPAND, "int(factors.bottleneck * width)", "int(factors.bottleneck * base_width)"))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="stage widths as int(base * γw), unrounded",
         source=_expansion(expand_body=_edit(_EXPAND, "width = round_width(base_width, factors.width)", "width = int(base_width * factors.width)"))),
    dict(notebook=NB, grade_id="expansion", caught="visible",
         mistake="inner width rounded (round) instead of truncated (int)",
         source=_expansion(expand_body=_edit(_EXPAND, "int(factors.bottleneck * width)", "round(factors.bottleneck * width)"))),
    dict(notebook=NB, grade_id="expansion", caught="hidden",
         mistake="round_width ignores min_width (uses 8)",
         source=_expansion(round_body=_edit(_ROUND, "rounded = max(min_width,", "rounded = max(8,"))),
    dict(notebook=NB, grade_id="expansion", caught="hidden",
         mistake="inner widths as floats (54.0 == 54, so the visible comparisons pass)",
         source=_expansion(expand_body=_edit(_EXPAND, "int(factors.bottleneck * width)", "float(int(factors.bottleneck * width))"))),
]
