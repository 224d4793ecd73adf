"""Offline data only: bundled with an installed package or generated from a seed."""
from .actions import ACTIONS, ActionClips, action_clips
from .digits import Digits, load_digits
from .distortions import (DISTORTIONS, MOS_CURVES, QualityBatch, blur, contrast, distort, exposure,
                          jpeg, laplacian_variance, mos, noise, quality_dataset)
from .places import PlaceLook, PlacesBatch, PlacesWorld, corrupt
from .shapes import ShapesBatch, ShapesWorld, TwoObjects
from .tabular import Tabular, load_breast_cancer
from .text import CharTokenizer, Text, load_text, pydoc_corpus, sample_batch
from .video import decode_video, read_video, sample_indices, write_video
from .words import WordTokenizer

__all__ = ["Digits", "load_digits", "Tabular", "load_breast_cancer",
           "CharTokenizer", "Text", "load_text", "pydoc_corpus", "sample_batch",
           "WordTokenizer", "ShapesWorld", "ShapesBatch", "TwoObjects",
           "PlacesWorld", "PlacesBatch", "PlaceLook", "corrupt",
           "DISTORTIONS", "MOS_CURVES", "QualityBatch", "blur", "noise", "jpeg", "contrast", "exposure",
           "distort", "mos", "quality_dataset", "laplacian_variance",
           "ACTIONS", "ActionClips", "action_clips", "sample_indices", "read_video", "write_video", "decode_video"]
