"""Offline data only: bundled with an installed package or generated from a seed."""
from .digits import Digits, load_digits
from .tabular import Tabular, load_breast_cancer
from .text import CharTokenizer, Text, load_text, pydoc_corpus, sample_batch

__all__ = ["Digits", "load_digits", "Tabular", "load_breast_cancer",
           "CharTokenizer", "Text", "load_text", "pydoc_corpus", "sample_batch"]
