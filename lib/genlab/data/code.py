"""A second text domain: Python's own standard-library source code. Introduced in 05_lora.

03's GPT learned English prose about Python from ``pydoc_data``; here it is adapted to
Python *code*. The source files ship with every Python install, so nothing is downloaded.
They change a little between Python versions; the numbers in 05 were measured on 3.11.
Characters the base model's vocabulary lacks (backticks, ``$``, accented letters) become
its ``UNK`` token.
"""
from __future__ import annotations

import sysconfig
from pathlib import Path

from .text import VAL_FRACTION, CharTokenizer, Text

# Plain, well-commented pure-Python modules, about 300k characters together, in this order.
MODULES = ("textwrap", "string", "heapq", "bisect", "fractions", "statistics", "calendar",
           "functools", "colorsys", "graphlib", "pprint", "dataclasses")


def stdlib_corpus(modules: tuple[str, ...] = MODULES) -> str:
    """The source of ``modules`` (top-level ``.py`` files of the standard library), concatenated."""
    root = Path(sysconfig.get_paths()["stdlib"])
    missing = [m for m in modules if not (root / f"{m}.py").is_file()]
    if missing:
        raise ValueError(f"not top-level modules of the standard library in {root}: {missing}")
    return "\n\n".join(f"# ---- {m}.py\n" + (root / f"{m}.py").read_text(encoding="utf-8") for m in modules)


def load_code_text(tokenizer: CharTokenizer, val_fraction: float = VAL_FRACTION) -> Text:
    """The stdlib corpus split like ``load_text`` (a contiguous 10 % tail validates), encoded
    with the *base model's* tokenizer so its ids mean the same characters."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    corpus = stdlib_corpus()
    cut = int(len(corpus) * (1 - val_fraction))
    train, val = corpus[:cut], corpus[cut:]
    return Text(train, val, tokenizer, tokenizer.encode(train, errors="replace"),
                tokenizer.encode(val, errors="replace"))
