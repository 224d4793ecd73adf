"""How a CLIP is judged: zero-shot classification from prompts, and retrieval recall@k. Introduced
in 10_clip (whose exercises rebuild these), reused by 11_clip_applications.

- ``zero_shot_weights``: one weight vector per class from the text embeddings of its prompts, one
  prompt per template (Radford et al. 2021, §3.1.4, "prompt ensembling"): normalise each prompt's
  embedding, average over the templates, renormalise.
- ``zero_shot_predict``: each image's class is the one whose weight vector is most similar.
- ``recall_at_k``: the fraction of queries whose own item (the diagonal of a query × item
  similarity matrix) ranks among the ``k`` most similar items.
- ``train_step``: one optimiser step of the symmetric contrastive loss (10_clip's training step).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from .clip import CLIP, contrastive_loss


def zero_shot_weights(text_features: torch.Tensor) -> torch.Tensor:
    """(templates, classes, D) prompt embeddings → (classes, D) unit-length class weights.

    Each prompt's embedding is normalised first, so every template gets the same say whatever
    its embedding's length; the mean over templates is renormalised, so every class is scored
    by a cosine similarity. A (classes, D) input is one template.
    """
    if text_features.ndim == 2:
        text_features = text_features[None]
    if text_features.ndim != 3 or 0 in text_features.shape:
        raise ValueError(f"need (templates, classes, D) text features, got shape {tuple(text_features.shape)}")
    return F.normalize(F.normalize(text_features, dim=-1).mean(dim=0), dim=-1)


def zero_shot_predict(image_features: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """(N, D) image features, (classes, D) weights → (N,) int64: each image's most similar class
    (the image's length does not change its ranking, so it needs no normalising here)."""
    if image_features.ndim != 2 or class_weights.ndim != 2 or image_features.shape[1] != class_weights.shape[1]:
        raise ValueError(f"need (N, D) image features and (classes, D) weights, got {tuple(image_features.shape)} "
                         f"and {tuple(class_weights.shape)}")
    return (image_features @ class_weights.t()).argmax(dim=-1)


def recall_at_k(similarity: torch.Tensor, k: int) -> float:
    """The fraction of queries (rows) whose own item (column i for row i) is among their ``k``
    most similar items: fewer than ``k`` items score strictly higher than it. ``similarity``:
    (queries, items), items ≥ queries; for text→image retrieval pass the transpose."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if similarity.ndim != 2 or similarity.shape[0] > similarity.shape[1] or similarity.shape[0] < 1:
        raise ValueError(f"need a (queries, items) similarity matrix with items >= queries, got "
                         f"{tuple(similarity.shape)}")
    n = similarity.shape[0]
    own = similarity[torch.arange(n), torch.arange(n)]
    higher = (similarity > own[:, None]).sum(dim=1)       # how many items beat the right one
    return (higher < k).double().mean().item()


def train_step(model: CLIP, optimizer: torch.optim.Optimizer, images: torch.Tensor, tokens: torch.Tensor,
               loss_fn: Callable[..., torch.Tensor] = contrastive_loss) -> float:
    """One step on a batch of matching (image, caption) pairs; returns the loss before the step.

    Clear the old gradients, encode both sides, ``loss_fn(image_features, text_features,
    model.scale())`` — the multiplier 1/τ, so that τ learns through it —, backpropagate, step.
    """
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model.encode_image(images), model.encode_text(tokens), model.scale())
    loss.backward()
    optimizer.step()
    return loss.item()


__all__ = ["zero_shot_weights", "zero_shot_predict", "recall_at_k", "train_step"]
