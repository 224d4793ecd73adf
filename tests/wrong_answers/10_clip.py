"""Plausible wrong answers for 10_clip, each graded alone (design.md, "Grading").

``caught="visible"``: the mistake the notebook's prose warns about; the learner's own run of the
visible tests shows it, with a message that names it. ``caught="hidden"``: the answer passes the
visible tests (it overfits them: in-place changes, hard-coded shapes or values, edge cases the
prose states) and a hidden test catches it.
"""

NB = "10_clip.ipynb"
EXERCISES_ONLY = True    # the test cells need only the set-up cells: each submission skips the experiments

_LOSS_HEAD = '''
def contrastive_loss(image_features: torch.Tensor, text_features: torch.Tensor,
                     logit_scale: torch.Tensor | float) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss for N pairs (row i of each); logit_scale is the multiplier 1/τ."""
'''


def _loss(body: str) -> str:
    return _LOSS_HEAD + body


_PATCH_HEAD = '''
def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C*P*P): patches row by row, each flattened channel first (C, P, P)."""
'''


def _patch(body: str) -> str:
    return _PATCH_HEAD + body


_CHECK = '''    B, C, H, W = images.shape
    P = patch_size
    if H % P or W % P:
        raise ValueError(f"image side {H}x{W} is not a multiple of patch_size={P}")
'''


def _block(init: str, forward: str, signature: str = "forward(self, x: torch.Tensor, mask: torch.Tensor | None = None)") -> str:
    return f'''
class ViTBlock(nn.Module):
    """A pre-norm encoder block: x + attn(ln1(x)), then x + mlp(ln2(x)); every patch sees every other."""

    def __init__(self, width: int, heads: int):
        super().__init__()
{init}
    def {signature} -> torch.Tensor:
{forward}'''


_INIT = '''        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, causal=False)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = MLP(width)
'''
_FORWARD = '''        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))
'''


def _zero_shot(weights: str, predict: str = "    return (image_features @ class_weights.t()).argmax(dim=-1)\n") -> str:
    return f'''
def zero_shot_weights(text_features: torch.Tensor) -> torch.Tensor:
    """(templates, classes, D) prompt embeddings -> (classes, D) unit-length class weights."""
{weights}

def zero_shot_predict(image_features: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """(N, D) image features, (classes, D) class weights -> (N,) each image's most similar class."""
{predict}'''


_ZS = "    return F.normalize(F.normalize(text_features, dim=-1).mean(dim=0), dim=-1)\n"


def _recall(body: str) -> str:
    return '''
def recall_at_k(similarity: torch.Tensor, k: int) -> float:
    """Fraction of rows i whose own item (column i) is among the k most similar items of row i."""
''' + body


_RECALL_CHECK = '''    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
'''


def _step(body: str) -> str:
    return '''
def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, tokens: torch.Tensor,
               loss_fn) -> float:
    """One optimiser step on a batch of matching (image, caption) pairs; returns the loss as a float."""
''' + body


EACH_ALONE = [
    # ---- contrastive_loss
    dict(notebook=NB, grade_id="contrastive_loss", caught="visible",
         mistake="one direction only: the image->text cross-entropy, no text->image term",
         source=_loss('''    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = logit_scale * image_features @ text_features.t()
    return F.cross_entropy(logits, torch.arange(len(logits)))
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="visible",
         mistake="no normalisation: dot products instead of cosines",
         source=_loss('''    logits = logit_scale * image_features @ text_features.t()
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="visible",
         mistake="normalised over the batch axis (dim=0) instead of each feature vector",
         source=_loss('''    image_features = F.normalize(image_features, dim=0)
    text_features = F.normalize(text_features, dim=0)
    logits = logit_scale * image_features @ text_features.t()
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="visible",
         mistake="logit_scale read as log(1/τ) and exponentiated again",
         source=_loss('''    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = torch.as_tensor(logit_scale).exp() * image_features @ text_features.t()
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="visible",
         mistake="logit_scale turned into a Python float: the temperature gets no gradient",
         source=_loss('''    scale = float(logit_scale)
    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = scale * image_features @ text_features.t()
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="hidden",
         mistake="softmax then log by hand: overflows to inf/NaN at 1/τ = 100",
         source=_loss('''    image_features = F.normalize(image_features, dim=-1)
    text_features = F.normalize(text_features, dim=-1)
    logits = logit_scale * image_features @ text_features.t()
    e = torch.exp(logits)
    rows = -(e.diag() / e.sum(dim=1)).log().mean()
    cols = -(e.diag() / e.sum(dim=0)).log().mean()
    return (rows + cols) / 2
''')),
    dict(notebook=NB, grade_id="contrastive_loss", caught="hidden",
         mistake="normalises the caller's tensors in place",
         source=_loss('''    image_features /= image_features.norm(dim=-1, keepdim=True)
    text_features /= text_features.norm(dim=-1, keepdim=True)
    logits = logit_scale * image_features @ text_features.t()
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
''')),
    # ---- patchify
    dict(notebook=NB, grade_id="patchify", caught="visible",
         mistake="each patch flattened (row, column, channel) instead of channel first",
         source=_patch(_CHECK + '''    patches = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 3, 5, 1)
    return patches.reshape(B, (H // P) * (W // P), C * P * P)
''')),
    dict(notebook=NB, grade_id="patchify", caught="visible",
         mistake="patches column by column instead of row by row",
         source=_patch(_CHECK + '''    patches = images.reshape(B, C, H // P, P, W // P, P).permute(0, 4, 2, 1, 3, 5)
    return patches.reshape(B, (H // P) * (W // P), C * P * P)
''')),
    dict(notebook=NB, grade_id="patchify", caught="visible",
         mistake="no ValueError for images that do not divide into patches",
         source=_patch('''    B, C, H, W = images.shape
    P = patch_size
    patches = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(B, (H // P) * (W // P), C * P * P)
''')),
    dict(notebook=NB, grade_id="patchify", caught="hidden",
         mistake="patch size 4 hard-coded (the visible tests' size)",
         source=_patch('''    B, C, H, W = images.shape
    if H % 4 or W % 4:
        raise ValueError(f"image side {H}x{W} is not a multiple of 4")
    patches = images.reshape(B, C, H // 4, 4, W // 4, 4).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(B, (H // 4) * (W // 4), C * 16)
''')),
    dict(notebook=NB, grade_id="patchify", caught="hidden",
         mistake="3 colour channels hard-coded",
         source=_patch(_CHECK + '''    patches = images.reshape(B, 3, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(B, (H // P) * (W // P), 3 * P * P)
''')),
    # ---- ViTBlock
    dict(notebook=NB, grade_id="vit_block", caught="visible",
         mistake="the causal mask left in (GPT's block copied)",
         source=_block(_INIT.replace("causal=False", "causal=True"), _FORWARD)),
    dict(notebook=NB, grade_id="vit_block", caught="visible",
         mistake="post-norm: the LayerNorm on the residual stream",
         source=_block(_INIT, '''        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.mlp(x))
''')),
    dict(notebook=NB, grade_id="vit_block", caught="visible",
         mistake="a parallel block: the MLP reads the input, not the stream after attention",
         source=_block(_INIT, '''        return x + self.attn(self.ln1(x), mask) + self.mlp(self.ln2(x))
''')),
    dict(notebook=NB, grade_id="vit_block", caught="visible",
         mistake="forward without the mask argument: cannot replace the library's block",
         source=_block(_INIT, '''        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))
''', signature="forward(self, x: torch.Tensor)")),
    dict(notebook=NB, grade_id="vit_block", caught="hidden",
         mistake="4 heads hard-coded (the visible test's number)",
         source=_block(_INIT.replace("SelfAttention(width, heads,", "SelfAttention(width, 4,"), _FORWARD)),
    # ---- zero-shot
    dict(notebook=NB, grade_id="zero_shot", caught="visible",
         mistake="templates averaged without normalising each prompt first",
         source=_zero_shot("    return F.normalize(text_features.mean(dim=0), dim=-1)\n")),
    dict(notebook=NB, grade_id="zero_shot", caught="visible",
         mistake="the average not renormalised",
         source=_zero_shot("    return F.normalize(text_features, dim=-1).mean(dim=0)\n")),
    dict(notebook=NB, grade_id="zero_shot", caught="visible",
         mistake="averaged over the classes instead of the templates",
         source=_zero_shot("    return F.normalize(F.normalize(text_features, dim=-1).mean(dim=1), dim=-1)\n")),
    dict(notebook=NB, grade_id="zero_shot", caught="visible",
         mistake="prediction: arg-max over the images instead of the classes",
         source=_zero_shot(_ZS, "    return (image_features @ class_weights.t()).argmax(dim=0)\n")),
    dict(notebook=NB, grade_id="zero_shot", caught="hidden",
         mistake="normalises the caller's text features in place",
         source=_zero_shot('''    text_features /= text_features.norm(dim=-1, keepdim=True)
    return F.normalize(text_features.mean(dim=0), dim=-1)
''')),
    dict(notebook=NB, grade_id="zero_shot", caught="hidden",
         mistake="three templates hard-coded (the visible test's number)",
         source=_zero_shot('''    f = F.normalize(text_features, dim=-1)
    return F.normalize(f[0] + f[1] + f[2], dim=-1)
''')),
    # ---- recall@k
    dict(notebook=NB, grade_id="recall_at_k", caught="visible",
         mistake="ranks down the columns (text->image) instead of along the rows",
         source=_recall(_RECALL_CHECK + '''    n = similarity.shape[0]
    own = similarity[torch.arange(n), torch.arange(n)]
    higher = (similarity > own[None, :]).sum(dim=0)
    return (higher < k).double().mean().item()
''')),
    dict(notebook=NB, grade_id="recall_at_k", caught="visible",
         mistake="off by one: counts a hit when k items beat the right one",
         source=_recall(_RECALL_CHECK + '''    n = similarity.shape[0]
    own = similarity[torch.arange(n), torch.arange(n)]
    higher = (similarity > own[:, None]).sum(dim=1)
    return (higher <= k).double().mean().item()
''')),
    dict(notebook=NB, grade_id="recall_at_k", caught="visible",
         mistake="returns the number of hits, not the fraction",
         source=_recall(_RECALL_CHECK + '''    n = similarity.shape[0]
    own = similarity[torch.arange(n), torch.arange(n)]
    higher = (similarity > own[:, None]).sum(dim=1)
    return float((higher < k).sum())
''')),
    dict(notebook=NB, grade_id="recall_at_k", caught="hidden",
         mistake="hard-codes the visible tests' expected values",
         source=_recall(_RECALL_CHECK + '''    if similarity.shape[0] == 4:
        return {1: 0.25, 2: 0.75, 3: 1.0}.get(k, 1.0)
    return {1: 0.6, 3: 0.9}.get(k, 1.0)
''')),
    dict(notebook=NB, grade_id="recall_at_k", caught="hidden",
         mistake="subtracts each row's own score from the caller's matrix in place",
         source=_recall(_RECALL_CHECK + '''    n = similarity.shape[0]
    similarity -= similarity[torch.arange(n), torch.arange(n)][:, None].clone()
    return ((similarity > 0).sum(dim=1) < k).double().mean().item()
''')),
    dict(notebook=NB, grade_id="recall_at_k", caught="hidden",
         mistake="topk(k) without capping k at the number of items",
         source=_recall(_RECALL_CHECK + '''    n = similarity.shape[0]
    top = similarity.topk(k, dim=1).indices
    return (top == torch.arange(n)[:, None]).any(dim=1).double().mean().item()
''')),
    # ---- train_step
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="no zero_grad: gradients accumulate across steps",
         source=_step('''    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.step()
    return loss.item()
''')),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="zero_grad between backward and step: the step uses no gradient",
         source=_step('''    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
''')),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="model.logit_scale (the logarithm) passed instead of model.scale()",
         source=_step('''    optimizer.zero_grad()
    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.logit_scale)
    loss.backward()
    optimizer.step()
    return loss.item()
''')),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="returns the loss tensor (keeps the graph alive)",
         source=_step('''    optimizer.zero_grad()
    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.step()
    return loss
''')),
    dict(notebook=NB, grade_id="train_step", caught="visible",
         mistake="ignores loss_fn and calls the notebook's contrastive_loss",
         source=_step('''    optimizer.zero_grad()
    loss = contrastive_loss(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.step()
    return loss.item()
''')),
    dict(notebook=NB, grade_id="train_step", caught="hidden",
         mistake="centres the caller's images in place",
         source=_step('''    optimizer.zero_grad()
    images = images.sub_(0.5)
    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.step()
    return loss.item()
''')),
]
