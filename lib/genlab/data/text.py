"""The course's offline text: Python's own help pages, as characters.

Introduced in 03_gpt, reused by 05_lora. The corpus is ``pydoc_data.topics.topics`` — the
79 help texts behind ``help("if")``, ``help("while")`` … that ship with every Python
(about 465k characters, 103 distinct ones on Python 3.11) — joined in sorted-key order, so
the corpus, the split and the vocabulary never depend on a notebook's SEED. The text does
change a little between Python versions; the numbers in the notebooks were measured on 3.11.

- ``load_text()`` gives the fixed 90 / 10 train/val split, encoded with a ``CharTokenizer``
  whose vocabulary is built from the *training* text only;
- ``sample_batch()`` draws random (x, y) blocks for next-character prediction.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

VAL_FRACTION = 0.1       # the last 10 % of the corpus is the validation text
UNK = "\ufffd"           # "�": the token for characters the vocabulary has never seen


def pydoc_corpus() -> str:
    """All of ``pydoc_data.topics.topics`` as one string: each help text under a line naming
    its topic, in sorted-key order (dict order is an implementation detail; sorting is not)."""
    from pydoc_data.topics import topics

    return "\n\n".join(f"{key}\n{topics[key].strip()}" for key in sorted(topics)) + "\n"


class CharTokenizer:
    """Characters ↔ integer ids. Ids ``0 … len(chars) - 1`` are the sorted characters of the
    text the tokenizer was built from; the last id is ``UNK``, for characters it never saw.

    ``encode(text)`` raises a ``ValueError`` naming the unknown characters;
    ``encode(text, errors="replace")`` maps them to ``UNK`` instead (05_lora uses this for a
    second domain, e.g. source code with tabs or ``$``). ``decode`` shows ``UNK`` as "�".
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("a CharTokenizer is built from a non-empty string")
        chars = sorted(set(text) - {UNK})
        self.chars = chars + [UNK]
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.unk_id = len(self.chars) - 1

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str, errors: str = "strict") -> torch.Tensor:
        """A 1-D int64 tensor of ids. ``errors``: "strict" (raise on unknown characters) or
        "replace" (map them to ``UNK``)."""
        if errors not in ("strict", "replace"):
            raise ValueError(f"errors must be 'strict' or 'replace', got {errors!r}")
        if errors == "strict":
            unknown = sorted(set(text) - set(self.stoi))
            if unknown:
                raise ValueError(f"{len(unknown)} character(s) not in the vocabulary: {unknown[:10]!r}; "
                                 "use encode(text, errors='replace') to map them to the UNK token")
        ids = [self.stoi.get(c, self.unk_id) for c in text]
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        """The string for a 1-D sequence of ids."""
        ids = torch.as_tensor(ids)
        if ids.ndim != 1:
            raise ValueError(f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}")
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got min {int(ids.min())}, "
                             f"max {int(ids.max())}")
        return "".join(self.chars[i] for i in ids.tolist())

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


@dataclass
class Text:
    """The split corpus: raw strings, their ids, and the tokenizer (built from ``train``)."""

    train: str
    val: str
    tokenizer: CharTokenizer
    train_ids: torch.Tensor
    val_ids: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def __repr__(self) -> str:
        return (f"Text(train={len(self.train):,} chars, val={len(self.val):,} chars, "
                f"vocab_size={self.vocab_size})")


def load_text(val_fraction: float = VAL_FRACTION) -> Text:
    """The pydoc corpus with a fixed split: the first ``1 - val_fraction`` of the characters
    train, the rest validate (a contiguous tail, so no validation sentence leaks into training).
    Validation characters that never occur in the training text become ``UNK``."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    corpus = pydoc_corpus()
    cut = int(len(corpus) * (1 - val_fraction))
    train, val = corpus[:cut], corpus[cut:]
    tok = CharTokenizer(train)
    return Text(train, val, tok, tok.encode(train), tok.encode(val, errors="replace"))


def sample_batch(ids: torch.Tensor, batch_size: int, block_size: int,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of the 1-D ``ids``: inputs ``x`` (B, T) and targets ``y``,
    the same windows shifted one character to the right (``y[:, t]`` follows ``x[:, :t+1]``)."""
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {tuple(ids.shape)}")
    if batch_size < 1 or block_size < 1:
        raise ValueError(f"batch_size and block_size must be >= 1, got {batch_size} and {block_size}")
    if len(ids) <= block_size:
        raise ValueError(f"the text has {len(ids)} tokens: too short for blocks of {block_size} + 1")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = ids[starts[:, None] + offsets]
    y = ids[starts[:, None] + offsets + 1]
    return x, y
