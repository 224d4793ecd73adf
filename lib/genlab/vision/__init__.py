"""Vision models, one idea per file: ``vit`` — the Vision Transformer and its patch embedding —,
``clip`` — the dual encoder, its contrastive loss and presets — (10_clip), ``evaluate`` — zero-shot
classification, recall@k and the training step — (10_clip), ``checkpoint`` —
OpenAI CLIP weights in and out, never downloaded (10_clip, 11_clip_applications) —, ``search``
— exact cosine top-k search, k-NN and Mahalanobis outlier scores, an approximate index's recall —
and ``places_clip`` — the shipped encoders and their recipe — (11_clip_applications), and ``x3d``
— the X3D video networks, their expansion rule, presets, multiply-add counting and pytorchvideo
checkpoints —, ``x3d_expansion`` — the progressive expansion, precomputed as a table — and
``frame_models`` — the 2-D baselines on frames — (12_x3d).
"""
from .checkpoint import BLOCK_NAMES, from_openai_state_dict, load_clip_checkpoint, openai_config, to_openai_state_dict
from .clip import CLIP, PRESETS, CLIPConfig, build_clip, contrastive_loss
from .frame_models import FrameCNN
from .evaluate import recall_at_k, train_step, zero_shot_predict, zero_shot_weights
from .search import Mahalanobis, cosine_topk, knn_outlier_score, neighbour_recall
from .vit import PatchEmbedding, VisionTransformer, conv_stem, patchify
from .x3d import (PAPER, X3D, X3D_PRESETS, StageConfig, X3DFactors, build_x3d, count_macs, expand_stages,
                  load_pretrained, round_depth, round_width)

__all__ = ["patchify", "PatchEmbedding", "VisionTransformer", "conv_stem", "CLIPConfig", "CLIP", "PRESETS", "build_clip",
           "contrastive_loss", "BLOCK_NAMES", "from_openai_state_dict", "to_openai_state_dict", "openai_config",
           "load_clip_checkpoint", "zero_shot_weights", "zero_shot_predict", "recall_at_k", "train_step",
           "cosine_topk", "knn_outlier_score", "Mahalanobis", "neighbour_recall",
           "X3DFactors", "X3D_PRESETS", "PAPER", "StageConfig", "round_width", "round_depth", "expand_stages", "X3D",
           "build_x3d", "count_macs", "load_pretrained", "FrameCNN"]
