"""Captions as words: a word-level tokenizer with a fixed vocabulary.

Introduced in 10_clip, reused by 11_clip_applications. The procedurally generated worlds
(``genlab.data.shapes``, ``genlab.data.places``) write their captions from a small grammar, so
the whole vocabulary is known in advance: no byte-pair encoding is needed, and a word the
grammar never produces is an error, not an unknown token.

Ids follow OpenAI CLIP's layout where it matters: ``PAD = 0`` fills the tail of a row, every
caption starts with ``SOT`` and ends with ``EOT``, and ``EOT`` has the *highest* id, so a text
encoder can pool its output at ``tokens.argmax(-1)`` (the EOT position) as CLIP does.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import torch

PAD, SOT, EOT = "<pad>", "<sot>", "<eot>"
_TOKEN = re.compile(r"[a-z]+|[^\sa-z]")   # a word, or one punctuation mark (",")
_VOWEL_WORD = re.compile(r"\ba (?=[aeiou])")


def split_words(text: str) -> list[str]:
    """The tokens of ``text``: lower-case words and single punctuation marks.

    >>> split_words("circle, red, top left")
    ['circle', ',', 'red', ',', 'top', 'left']
    """
    return _TOKEN.findall(text.lower())


def fix_articles(text: str) -> str:
    """'a orange circle' → 'an orange circle' (templates say "a"; the colour may not agree)."""
    return _VOWEL_WORD.sub("an ", text)


def join_words(words: Iterable[str]) -> str:
    """The inverse of ``split_words`` for grammar captions: words joined by spaces, with no
    space before punctuation."""
    return re.sub(r" ([^\sa-z])", r"\1", " ".join(words))


class WordTokenizer:
    """Words ↔ ids. ``0`` is PAD, ``1`` is SOT, ``2 … V-2`` are the sorted vocabulary words and
    ``V-1`` is EOT (the highest id: see the module docstring).

    ``encode`` returns a (N, context_length) LongTensor: SOT, the words, EOT, then PAD. A caption
    longer than the context raises a ``ValueError`` unless ``truncate=True`` (then the last kept
    token is EOT, as in CLIP).
    """

    def __init__(self, vocabulary: Iterable[str]):
        words = sorted(set(vocabulary) - {PAD, SOT, EOT})
        if not words:
            raise ValueError("a WordTokenizer needs at least one word")
        bad = [w for w in words if split_words(w) != [w]]
        if bad:
            raise ValueError(f"vocabulary entries must be single lower-case words or marks, got {bad[:5]!r}")
        self.itos = [PAD, SOT] + words + [EOT]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.sot_id, self.eot_id = 0, 1, len(self.itos) - 1

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def words(self) -> list[str]:
        """The vocabulary without the special tokens."""
        return self.itos[2:-1]

    def encode(self, captions: str | Sequence[str], context_length: int = 16,
               truncate: bool = False) -> torch.Tensor:
        """Token ids, one row per caption (a single string gives one row)."""
        if isinstance(captions, str):
            captions = [captions]
        if context_length < 3:
            raise ValueError(f"context_length must be >= 3 (SOT, a word, EOT), got {context_length}")
        out = torch.full((len(captions), context_length), self.pad_id, dtype=torch.long)
        cache: dict[str, list[int]] = {}     # grammar captions repeat a lot
        for row, caption in enumerate(captions):
            ids = cache.get(caption)
            if ids is None:
                ids = cache[caption] = self._ids(caption)
            if len(ids) + 2 > context_length:
                if not truncate:
                    raise ValueError(f"caption {caption!r} needs {len(ids) + 2} tokens, more than "
                                     f"context_length={context_length}; pass truncate=True to cut it")
                ids = ids[:context_length - 2]
            out[row, :len(ids) + 2] = torch.tensor([self.sot_id, *ids, self.eot_id])
        return out

    def _ids(self, caption: str) -> list[int]:
        words = split_words(caption)
        unknown = sorted({w for w in words if w not in self.stoi})
        if unknown:
            raise ValueError(f"word(s) not in the vocabulary: {unknown[:10]!r} (in {caption!r})")
        return [self.stoi[w] for w in words]

    def decode(self, ids: torch.Tensor | Sequence[int] | Sequence[Sequence[int]]) -> str | list[str]:
        """The caption of a 1-D row of ids (a list of captions for 2-D); specials are dropped."""
        ids = torch.as_tensor(ids)
        if ids.ndim not in (1, 2):
            raise ValueError(f"decode takes 1-D or 2-D ids, got shape {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got min {int(ids.min())}, "
                             f"max {int(ids.max())}")
        if ids.ndim == 2:
            return [self.decode(row) for row in ids]
        return join_words(self.itos[i] for i in ids.tolist()
                          if i not in (self.pad_id, self.sot_id, self.eot_id))

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"
