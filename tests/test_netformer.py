"""Unit tests for genlab.nas.netformer (08_netformer's reference implementation)."""
import random

import pytest
import torch
import torch.nn.functional as F

from genlab.generative.vae import gaussian_kl
from genlab.nas import netformer as nf
from genlab.nas.layer_space import LayerSpace
from genlab.nas.space import NUM_CELLS, all_cells, index_to_ops, ops_to_str
from genlab.nn import count_parameters
from genlab.train import warmup_cosine


# ---------------------------------------------------------------- tokens

def test_vocab_puts_the_specials_first_and_rejects_duplicates():
    v = nf.Vocab(("a", "b"))
    assert v.itos == ("<pad>", "<bos>", "<eos>", "a", "b") and len(v) == 5
    assert (v.stoi["<pad>"], v.stoi["<bos>"], v.stoi["<eos>"]) == (nf.PAD_ID, nf.BOS_ID, nf.EOS_ID)
    with pytest.raises(ValueError, match="needs distinct tokens"):
        nf.Vocab(("a", "a"))
    with pytest.raises(ValueError, match="are added by Vocab"):
        nf.Vocab(("a", "<eos>"))


def test_tokenize_layout_padding_and_errors():
    v = nf.Vocab(("a", "b", "c"))
    assert nf.tokenize(["c", "a"], v, 6) == [1, 5, 3, 2, 0, 0]
    assert nf.tokenize([], v, 2) == [1, 2]
    assert nf.tokenize(["a", "b"], v, 4) == [1, 3, 4, 2]          # exactly full: no PAD
    with pytest.raises(ValueError, match="fit"):
        nf.tokenize(["a", "b", "c"], v, 4)
    with pytest.raises(ValueError, match="unknown"):
        nf.tokenize(["a", "z"], v, 6)
    with pytest.raises(ValueError, match="unknown"):
        nf.tokenize(["<pad>"], v, 6)


def test_detokenize_inverts_tokenize_and_keeps_malformed_specials():
    v = nf.Vocab(("a", "b", "c"))
    for tokens in ([], ["a"], ["c", "b", "a", "a"]):
        assert nf.detokenize(nf.tokenize(tokens, v, 7), v) == tuple(tokens)
    assert nf.detokenize([1, 3, 0, 4, 2, 5], v) == ("a", "<pad>", "b")   # stops at EOS, PAD kept by name
    assert nf.detokenize([3, 4], v) == ("a", "b")                        # no BOS, no EOS
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 6\)"):
        nf.detokenize([1, 9], v)


def test_cells_round_trip_through_tokens():
    cells = [index_to_ops(i) for i in (0, 1, 777, NUM_CELLS - 1)]
    ids = nf.encode_cells([0, ops_to_str(cells[1]), cells[2], NUM_CELLS - 1])
    assert ids.shape == (4, nf.NB201_MAX_LEN) and ids.dtype == torch.long
    assert (ids[:, 0] == nf.BOS_ID).all() and (ids[:, -1] == nf.EOS_ID).all()
    assert ids[0, 1:7].tolist() == [3] * 6                                # 'none' is token 3
    assert nf.decode_cells(ids) == cells
    bad = ids.clone()
    bad[0, 3] = nf.EOS_ID
    bad[1, 2] = nf.PAD_ID
    assert nf.decode_cells(bad)[:2] == [None, None]


# ---------------------------------------------------------------- the loss

def _loss_inputs(seed=0, n=4, t=7, v=8, d=3):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, t, v, generator=g), torch.randint(3, v, (n, t), generator=g),
            torch.randn(n, d, generator=g), torch.randn(n, d, generator=g))


def test_token_nll_masks_pad_and_sums_per_sequence():
    logits, targets, _, _ = _loss_inputs()
    targets[0, 4:] = nf.PAD_ID
    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    expected = torch.stack([ce[0, :4].sum(), ce[1].sum(), ce[2].sum(), ce[3].sum()])
    torch.testing.assert_close(nf.token_nll(logits, targets), expected)
    logits2 = logits.clone()
    logits2[0, 4:] = 100 * torch.randn(3, 8)          # what the model says at PAD targets is ignored
    torch.testing.assert_close(nf.token_nll(logits2, targets), expected)
    with pytest.raises(ValueError, match=r"logits must be \(N, T, V\)"):
        nf.token_nll(logits, targets[:, :-1])


def test_sequence_vae_loss_is_mean_of_nll_plus_beta_kl():
    logits, targets, mu, log_var = _loss_inputs(1)
    targets[2, 5:] = nf.PAD_ID
    for beta in (0.0, 0.1, 1.0):
        expected = (nf.token_nll(logits, targets) + beta * gaussian_kl(mu, log_var)).mean()
        torch.testing.assert_close(nf.sequence_vae_loss(logits, targets, mu, log_var, beta), expected)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        nf.sequence_vae_loss(logits, targets, mu, log_var, beta=-1)


# ---------------------------------------------------------------- the model

def _small_model(seed=0, vocab=len(nf.NB201_VOCAB), max_len=nf.NB201_MAX_LEN):
    torch.manual_seed(seed)
    return nf.NetformerVAE(nf.NetformerConfig(vocab, max_len, n_layer=1, n_embd=16, n_head=2, latent=4))


def test_config_validates():
    with pytest.raises(ValueError, match="must be divisible by n_head"):
        nf.NetformerConfig(8, 8, n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        nf.NetformerConfig(8, 0)


def test_shapes_and_input_checks():
    m = _small_model()
    ids = nf.encode_cells([0, 5, 99])
    logits, mu, log_var = m(ids)
    assert logits.shape == (3, 7, 8) and mu.shape == log_var.shape == (3, 4)
    with pytest.raises(ValueError, match="int64 tensor"):
        m.encode(ids.float())
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 8\)"):
        m.encode(torch.full((1, 8), 99))
    with pytest.raises(ValueError, match=r"z must be \(3, 4\)"):
        m.decode(torch.zeros(2, 4), ids)


def test_decoder_is_causal_and_encoder_ignores_pad_content():
    space = LayerSpace()
    m = _small_model(vocab=len(space.vocab), max_len=space.max_len).eval()
    ids = space.encode([("conv3-8", "pool"), ("conv1-8", "conv3-16", "pool")])
    z = torch.randn(2, 4)
    out = m.decode(z, ids)
    changed = ids.clone()
    changed[:, 3] = 5
    out2 = m.decode(z, changed)
    torch.testing.assert_close(out[:, :3], out2[:, :3])          # position t never sees t + 1
    assert not torch.allclose(out[:, 3:], out2[:, 3:])
    mu, _ = m.encode(ids)
    mu_short, _ = m.encode(ids[:, :6])                             # fewer PAD positions: same code
    torch.testing.assert_close(mu, mu_short)


def test_generate_is_greedy_and_pads_after_eos():
    m = _small_model(1).eval()
    z = torch.randn(5, 4)
    ids = m.generate(z)
    assert ids.shape == (5, nf.NB201_MAX_LEN) and (ids[:, 0] == nf.BOS_ID).all()
    for row in ids.tolist():
        if nf.EOS_ID in row:
            assert all(t == nf.PAD_ID for t in row[row.index(nf.EOS_ID) + 1:])
    # greedy: every generated token is the arg-max of the decoder given its own prefix
    logits = m.decode(z, ids[:, :-1])
    for i, row in enumerate(ids.tolist()):
        end = row.index(nf.EOS_ID) if nf.EOS_ID in row else len(row) - 1
        assert logits[i, :end].argmax(-1).tolist() == row[1:end + 1]
    g = torch.Generator().manual_seed(0)
    assert m.sample(3, temperature=1.0, generator=g).shape == (3, nf.NB201_MAX_LEN)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        m.generate(z, temperature=-1)


def test_training_learns_to_reconstruct_held_out_cells():
    cells = list(all_cells())
    random.Random(0).shuffle(cells)
    ids = nf.encode_cells(cells[:1200])
    torch.manual_seed(0)
    m = nf.NetformerVAE(nf.NetformerConfig(len(nf.NB201_VOCAB), nf.NB201_MAX_LEN, n_embd=32, latent=16))
    before = nf.reconstruction_accuracy(m, ids[1000:])
    hist = nf.train_netformer(m, ids[:1000], num_epochs=12, beta=0.05, batch_size=32, val_ids=ids[1000:],
                              progress=False)
    assert before == 0.0
    assert hist.last("val_recon") >= 0.8
    assert hist["train_loss"][-1] < hist["train_loss"][0]


def test_kl_annealing_ramps_beta_over_the_warmup_share_of_the_steps():
    kl = nf.KLAnnealing(beta=0.5, warmup=0.25)
    assert kl.weight == 0.0                                          # before the first step
    weights = []
    for step in range(100):
        kl(step, 100)                                                # what fit's on_step hook does
        weights.append(kl.weight)
    assert weights[0] == pytest.approx(0.5 / 25) and weights[24] == weights[-1] == 0.5
    assert all(a < b for a, b in zip(weights[:24], weights[1:25])) and set(weights[24:]) == {0.5}
    at_once = nf.KLAnnealing(beta=0.05, warmup=0.0)
    at_once(0, 10)
    assert at_once.weight == 0.05
    with pytest.raises(ValueError, match="beta >= 0"):
        nf.KLAnnealing(beta=-0.1)
    with pytest.raises(ValueError, match=r"KL warmup in \[0, 1\]"):
        nf.KLAnnealing(beta=0.1, warmup=1.5)


def test_train_netformer_applies_the_one_schedule_and_the_kl_hook(monkeypatch):
    ids = nf.encode_cells(range(0, NUM_CELLS, 100))                   # 157 cells: 5 batches of 32 per epoch
    betas = []
    loss = nf.sequence_vae_loss

    def recording_loss(logits, targets, mu, log_var, beta):
        betas.append(beta)
        return loss(logits, targets, mu, log_var, beta)

    monkeypatch.setattr(nf, "sequence_vae_loss", recording_loss)
    hist = nf.train_netformer(_small_model(), ids, num_epochs=3, beta=0.2, kl_warmup=0.5, lr=1e-3,
                              batch_size=32, progress=False)
    total = 3 * 5
    assert betas == pytest.approx([0.2 * min(1.0, (s + 1) / (0.5 * total)) for s in range(total)])
    last_steps = [5 * epoch - 1 for epoch in (1, 2, 3)]                 # each record: its epoch's last step
    assert hist["kl_weight"] == pytest.approx([betas[s] for s in last_steps])
    assert hist["lr"] == pytest.approx([1e-3 * warmup_cosine(s / total) for s in last_steps])


def test_the_default_model_has_the_documented_size():
    config = nf.NetformerConfig(len(nf.NB201_VOCAB), nf.NB201_MAX_LEN)
    assert 60_000 < count_parameters(nf.NetformerVAE(config)) < 62_000   # "61k parameters"
    assert not hasattr(nf.NetformerVAE, "num_params")                     # one counter: genlab.nn's


def test_interpolation_ends_are_the_reconstructions():
    m = _small_model(2).eval()
    ids = nf.encode_cells([10, 12000])
    path = nf.interpolate(m, ids[0], ids[1], steps=5)
    assert path.shape == (5, nf.NB201_MAX_LEN)
    torch.testing.assert_close(path[[0, -1]], nf.reconstruct(m, ids))
    with pytest.raises(ValueError, match="steps must be >= 2"):
        nf.interpolate(m, ids[0], ids[1], steps=1)
