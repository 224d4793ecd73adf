"""Unit tests for genlab.nas.netformer (08_netformer's reference implementation)."""
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.generative.vae import gaussian_kl
from genlab.nas import netformer as nf
from genlab.nas.search import RegularizedEvolution, Strategy, run_search
from genlab.nas.space import NUM_CELLS, OPS, all_cells, canonical, index_to_ops, ops_to_str


# ---------------------------------------------------------------- tokens

def test_vocab_puts_the_specials_first_and_rejects_duplicates():
    v = nf.Vocab(("a", "b"))
    assert v.itos == ("<pad>", "<bos>", "<eos>", "a", "b") and len(v) == 5
    assert (v.stoi["<pad>"], v.stoi["<bos>"], v.stoi["<eos>"]) == (nf.PAD_ID, nf.BOS_ID, nf.EOS_ID)
    with pytest.raises(ValueError):
        nf.Vocab(("a", "a"))
    with pytest.raises(ValueError):
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
    with pytest.raises(ValueError):
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
    with pytest.raises(ValueError):
        nf.token_nll(logits, targets[:, :-1])


def test_sequence_vae_loss_is_mean_of_nll_plus_beta_kl():
    logits, targets, mu, log_var = _loss_inputs(1)
    targets[2, 5:] = nf.PAD_ID
    for beta in (0.0, 0.1, 1.0):
        expected = (nf.token_nll(logits, targets) + beta * gaussian_kl(mu, log_var)).mean()
        torch.testing.assert_close(nf.sequence_vae_loss(logits, targets, mu, log_var, beta), expected)
    with pytest.raises(ValueError):
        nf.sequence_vae_loss(logits, targets, mu, log_var, beta=-1)


# ---------------------------------------------------------------- the model

def _small_model(seed=0, vocab=len(nf.NB201_VOCAB), max_len=nf.NB201_MAX_LEN):
    torch.manual_seed(seed)
    return nf.NetformerVAE(nf.NetformerConfig(vocab, max_len, n_layer=1, n_embd=16, n_head=2, latent=4))


def test_config_validates():
    with pytest.raises(ValueError):
        nf.NetformerConfig(8, 8, n_embd=30, n_head=4)
    with pytest.raises(ValueError):
        nf.NetformerConfig(8, 0)


def test_shapes_and_input_checks():
    m = _small_model()
    ids = nf.encode_cells([0, 5, 99])
    logits, mu, log_var = m(ids)
    assert logits.shape == (3, 7, 8) and mu.shape == log_var.shape == (3, 4)
    with pytest.raises(ValueError):
        m.encode(ids.float())
    with pytest.raises(ValueError):
        m.encode(torch.full((1, 8), 99))
    with pytest.raises(ValueError):
        m.decode(torch.zeros(2, 4), ids)


def test_decoder_is_causal_and_encoder_ignores_pad_content():
    space = nf.LayerSpace()
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
    with pytest.raises(ValueError):
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


def test_interpolation_ends_are_the_reconstructions():
    m = _small_model(2).eval()
    ids = nf.encode_cells([10, 12000])
    path = nf.interpolate(m, ids[0], ids[1], steps=5)
    assert path.shape == (5, nf.NB201_MAX_LEN)
    torch.testing.assert_close(path[[0, -1]], nf.reconstruct(m, ids))
    with pytest.raises(ValueError):
        nf.interpolate(m, ids[0], ids[1], steps=1)


# ---------------------------------------------------------------- predictor and search

def test_gp_predictor_fits_a_smooth_function():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(80, 3))
    y = np.sin(Z[:, 0]) + 0.5 * Z[:, 1]
    gp = nf.GPPredictor().fit(Z[:60], y[:60])
    pred, std = gp.predict(Z[60:], return_std=True)
    assert np.corrcoef(pred, y[60:])[0, 1] > 0.9 and std.shape == (20,)
    with pytest.raises(ValueError):
        nf.GPPredictor().predict(Z)


def test_expected_improvement():
    ei = nf.expected_improvement(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 1e-12]), best=1.0)
    assert ei[0] < ei[1] and ei[2] == pytest.approx(0.0, abs=1e-9)
    assert ei[1] == pytest.approx(1 / np.sqrt(2 * np.pi))


class _FakeBench:
    """A smooth toy landscape: accuracy = share of 3×3 convs (best: all six)."""

    def __init__(self):
        conv = np.array([sum(op == "nor_conv_3x3" for op in ops) for ops in all_cells()]) / 6
        self.val_acc = self.test_acc = conv
        self.best_test = 1.0


def test_latent_search_is_a_strategy_and_improves_on_a_toy_landscape():
    m = _small_model(3).eval()
    s = nf.LatentSearch(m, num_init=5, batch_size=3, num_candidates=30, seed=0)
    assert isinstance(s, Strategy)
    traj = run_search(s, _FakeBench(), 14)
    assert len(traj.best_test) == 14 and traj.best_test[-1] >= traj.best_test[4]
    canon = [canonical(c) for c, _ in s.history[5:]]
    assert len(set(canon)) == len(canon)                      # no isomorphic repeats after the random start
    with pytest.raises(ValueError):
        nf.LatentSearch(m, num_init=1)
    with pytest.raises(ValueError):
        nf.LatentSearch(_small_model(max_len=10))


# ---------------------------------------------------------------- the constrained space

def test_parse_layer():
    assert nf.parse_layer("conv3-16") == ("conv", 3, 16)
    assert nf.parse_layer("pool") == ("pool", 2, None)
    for bad in ("conv3", "conv0-8", "relu", 3):
        with pytest.raises(ValueError):
            nf.parse_layer(bad)


def test_layer_space_shapes_depth_and_params():
    s = nf.LayerSpace()
    assert s.trace(["conv3-8", "pool", "conv3-16"]) == [(8, 6, 80), (8, 3, 0), (16, 1, 1168)]
    assert s.count_params(["conv3-8", "pool", "conv3-16"]) == 80 + 1168 + 16 * 10 + 10
    assert s.is_valid(["conv3-8", "pool", "conv3-16"])
    assert s.violations(["conv3-8", "pool", "conv5-16"]) == ["layer 3 (conv5-16) needs a larger input than 3×3"]
    assert s.violations(["conv5-8", "conv5-8"]) == ["layer 2 (conv5-8) needs a larger input than 4×4"]


def test_layer_space_boundaries():
    s = nf.LayerSpace()
    assert s.is_valid(["conv5-8", "conv3-8", "conv1-8"])            # 8 → 4 → 2 → 2
    assert s.is_valid(["conv3-8", "pool", "conv3-8"])               # 8 → 6 → 3 → 1: a 3×3 conv fits 3×3
    assert s.is_valid(["pool", "pool", "pool"])                      # 8 → 4 → 2 → 1
    assert not s.is_valid(["pool", "pool", "pool", "pool"])          # 1×1 cannot be pooled
    assert s.violations(["conv3-8"]) == ["depth 1 outside [2, 8]"]
    assert s.violations(["conv1-8"] * 9) == ["depth 9 outside [2, 8]"]
    assert s.violations(["conv3-8", "relu"]) == ["unknown token(s) ['relu']"]
    assert s.violations(["conv3-8", "<pad>"]) == ["unknown token(s) ['<pad>']"]
    big = ["conv3-32"] * 3                                           # 320 + 2 * 9,248 + 330 = 19,146
    assert s.count_params(big) == 19146 and s.is_valid(big)
    assert nf.LayerSpace(max_params=19146).is_valid(big) and not nf.LayerSpace(max_params=19145).is_valid(big)
    over = ["conv3-32", "conv3-32", "conv1-32", "conv3-32"]           # 8 → 6 → 4 → 4 → 2
    assert s.violations(over) == ["20,202 parameters > 20,000"]
    assert s.count_params(["pool", "pool"]) == 20                      # no conv: the head sees 1 channel
    with pytest.raises(ValueError):
        s.count_params(["pool"] * 4)
    with pytest.raises(ValueError):
        nf.LayerSpace(min_depth=3, max_depth=2)


def test_validity_agrees_with_pytorch():
    s = nf.LayerSpace()
    rng = random.Random(0)
    for _ in range(300):
        layers = s.random_sequence(rng)
        if s.is_valid(layers):
            net = s.build(layers)
            assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
            assert sum(p.numel() for p in net.parameters()) == s.count_params(layers)
        else:
            with pytest.raises(ValueError, match="invalid network"):
                s.build(layers)
            if len(s.trace(layers)) < len(layers):                  # a shape error: torch agrees
                c, mods = 1, []
                for t in layers:
                    kind, k, c_out = nf.parse_layer(t)
                    mods.append(torch.nn.MaxPool2d(2) if kind == "pool" else torch.nn.Conv2d(c, c_out, k))
                    c = c_out or c
                with pytest.raises(RuntimeError):
                    torch.nn.Sequential(*mods)(torch.zeros(1, 1, 8, 8))


def test_random_generators():
    s = nf.LayerSpace()
    rng = random.Random(1)
    seqs = [s.random_sequence(rng) for _ in range(2000)]
    assert {len(q) for q in seqs} == set(range(2, 9))
    rate = np.mean([s.is_valid(q) for q in seqs])
    assert 0.15 < rate < 0.45                                          # validity is not automatic
    valid = [s.random_valid(rng) for _ in range(300)]
    assert all(s.is_valid(q) for q in valid) and len({len(q) for q in valid}) == 7
    ids = s.encode(valid[:5])
    assert ids.shape == (5, 10) and s.decode(ids) == valid[:5]
    with pytest.raises(ValueError):
        nf.LayerSpace(max_params=1).random_valid(rng, max_tries=50)


def test_sample_quality():
    s = nf.LayerSpace()
    a, b, c = ("conv3-8", "pool"), ("conv1-8", "pool"), ("pool", "pool")
    bad = ("conv5-8", "conv5-8")
    q = nf.sample_quality([a, a, b, c, bad], train=[a], is_valid=s.is_valid)
    assert q == {"valid": 0.8, "unique": 0.75, "novel": pytest.approx(2 / 3)}
    assert nf.sample_quality([bad], [a], s.is_valid) == {"valid": 0.0, "unique": 0.0, "novel": 0.0}
    with pytest.raises(ValueError):
        nf.sample_quality([], [a], s.is_valid)
