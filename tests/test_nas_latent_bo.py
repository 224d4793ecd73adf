"""Unit tests for genlab.nas.latent_bo: Bayesian optimisation in the latent space (08_netformer)."""
import numpy as np
import pytest
import torch

from genlab.nas import latent_bo as bo
from genlab.nas import netformer as nf
from genlab.nas.search import Strategy, run_search
from genlab.nas import space
from genlab.nas.space import all_cells, canonical


def _small_model(seed=0, vocab=len(nf.NB201_VOCAB), max_len=nf.NB201_MAX_LEN):
    torch.manual_seed(seed)
    return nf.NetformerVAE(nf.NetformerConfig(vocab, max_len, n_layer=1, n_embd=16, n_head=2, latent=4))


def test_gp_predictor_fits_a_smooth_function():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(80, 3))
    y = np.sin(Z[:, 0]) + 0.5 * Z[:, 1]
    gp = bo.GPPredictor().fit(Z[:60], y[:60])
    pred, std = gp.predict(Z[60:], return_std=True)
    assert np.corrcoef(pred, y[60:])[0, 1] > 0.9 and std.shape == (20,)
    with pytest.raises(ValueError, match="fit the predictor first"):
        bo.GPPredictor().predict(Z)


def test_expected_improvement():
    ei = bo.expected_improvement(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 1e-12]), best=1.0)
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
    s = bo.LatentSearch(m, num_init=5, batch_size=3, num_candidates=30, seed=0)
    assert isinstance(s, Strategy)
    traj = run_search(s, _FakeBench(), 14)
    assert len(traj.best_test) == 14 and traj.best_test[-1] >= traj.best_test[4]
    assert len({c for c, _ in s.history[5:]}) == 9           # no cell queried twice after the random start
    with pytest.raises(ValueError, match="need num_init >= 2"):
        bo.LatentSearch(m, num_init=1)
    with pytest.raises(ValueError, match="needs a NetformerVAE trained on NAS-Bench-201 cells"):
        bo.LatentSearch(_small_model(max_len=10))


def test_one_hot_search_is_the_same_loop_on_one_hot_codes():
    s = bo.OneHotSearch(num_init=5, batch_size=3, num_candidates=30, seed=0)
    assert isinstance(s, bo.GPSearch) and s.name == "one-hot BO"
    traj = run_search(s, _FakeBench(), 20)
    assert traj.best_test[-1] > traj.best_test[4]            # the GP finds more 3×3 convs than the random start
    # its candidates are one mutation from one of the best cells told so far
    top = [c for c, _ in sorted(s.history, key=lambda h: -h[1])[:5]]
    assert all(any(sum(a != b for a, b in zip(c, t)) == 1 for t in top) for c in s._candidates(top))
    again = bo.OneHotSearch(num_init=5, batch_size=3, num_candidates=30, seed=0)
    assert run_search(again, _FakeBench(), 20).best_test == traj.best_test      # seeded: reproducible


@pytest.mark.parametrize("make", [lambda c: bo.OneHotSearch(num_init=5, batch_size=3, num_candidates=40, canonical=c, seed=1),
                                  lambda c: bo.LatentSearch(_small_model(3).eval(), num_init=5, batch_size=3,
                                                            num_candidates=40, canonical=c, seed=1)],
                         ids=["one-hot", "latent"])
def test_canonical_codes_share_one_code_per_function_and_never_repeat_one(make):
    s = make(True)
    assert s.name.endswith("(canonical)")
    a, b = space.index_to_ops(3288), space.index_to_ops(4016)          # x + c1(x) + c3(x), two ways
    assert a != b and np.array_equal(*s._codes([a, b]))
    plain = make(False)
    assert not np.array_equal(*plain._codes([a, b]))
    run_search(s, _FakeBench(), 30)
    canon = [canonical(c) for c, _ in s.history[5:]]
    assert len(set(canon)) == len(canon)                      # no function queried twice after the random start
