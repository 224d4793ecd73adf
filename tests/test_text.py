"""The pydoc text corpus, the character tokenizer and the batch sampler (genlab.data.text)."""
from __future__ import annotations

import pytest
import torch

from genlab.data import CharTokenizer, load_text, pydoc_corpus, sample_batch
from genlab.data.text import UNK


@pytest.fixture(scope="module")
def text():
    return load_text()


def test_corpus_is_deterministic_and_holds_every_topic():
    from pydoc_data.topics import topics

    corpus = pydoc_corpus()
    assert corpus == pydoc_corpus()
    assert len(corpus) > 400_000
    for key in ("if", "while", "formatstrings"):
        assert f"{key}\n{topics[key].strip()}" in corpus


def test_split_is_fixed_contiguous_and_ninety_ten(text):
    assert text.train + text.val == pydoc_corpus()
    assert len(text.val) / (len(text.train) + len(text.val)) == pytest.approx(0.1, abs=1e-4)
    assert torch.equal(text.train_ids, load_text().train_ids)
    assert text.train_ids.dtype == torch.long and text.train_ids.ndim == 1
    assert len(text.train_ids) == len(text.train) and len(text.val_ids) == len(text.val)
    assert text.vocab_size == len(set(text.train)) + 1  # + UNK


def test_tokenizer_round_trips_and_builds_its_vocabulary_from_train(text):
    tok = text.tokenizer
    sample = text.train[1000:1500]
    assert tok.decode(tok.encode(sample)) == sample
    assert tok.decode(text.val_ids) == text.val  # every val char occurs in train
    assert tok.chars[:-1] == sorted(set(text.train)) and tok.chars[-1] == UNK
    assert tok.decode([]) == ""


def test_unknown_characters_raise_or_become_unk():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.encode("abz")
    ids = tok.encode("abz", errors="replace")
    assert ids.tolist() == [0, 1, tok.unk_id]
    assert tok.decode(ids) == "ab" + UNK
    with pytest.raises(ValueError, match="errors"):
        tok.encode("a", errors="ignore")
    with pytest.raises(ValueError, match="ids must lie"):
        tok.decode([0, 7])
    with pytest.raises(ValueError, match="non-empty"):
        CharTokenizer("")


def test_sample_batch_shifts_targets_by_one_and_is_seeded(text):
    g = torch.Generator().manual_seed(3)
    x, y = sample_batch(text.train_ids, 5, 16, g)
    assert x.shape == y.shape == (5, 16) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    x2, _ = sample_batch(text.train_ids, 5, 16, torch.Generator().manual_seed(3))
    assert torch.equal(x, x2)
    # every window is a real slice of the text
    ids = torch.arange(100)
    x, y = sample_batch(ids, 50, 10, torch.Generator().manual_seed(0))
    assert torch.equal(y, x + 1) and int(y.max()) <= 99


@pytest.mark.parametrize("args, message", [
    ((torch.arange(10), 2, 10), r"the text has 10 tokens: too short for blocks of 10 \+ 1"),
    ((torch.arange(10), 0, 4), "batch_size and block_size must be >= 1, got 0 and 4"),
    ((torch.zeros(4, 4, dtype=torch.long), 2, 2), r"ids must be 1-D, got shape \(4, 4\)"),
])
def test_sample_batch_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        sample_batch(*args)


def test_load_text_rejects_bad_fraction():
    with pytest.raises(ValueError, match="val_fraction"):
        load_text(1.5)
