"""Search strategies (genlab.nas.search) and zero-cost proxies (genlab.nas.proxies)."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from genlab.nas import proxies, search, space


def synthetic_bench(seed=0):
    """A benchmark whose accuracy is a known sum of per-edge op values plus noise."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(6, 5))
    X = np.array([space.one_hot(c) for c in space.all_cells()])
    acc = X @ weights.ravel()
    acc = (acc - acc.min()) / (acc.max() - acc.min())
    val = acc + rng.normal(scale=0.01, size=acc.shape)
    return SimpleNamespace(val_acc=val, test_acc=acc, best_test=float(acc.max()))


BENCH = synthetic_bench()


def test_strategies_share_one_interface():
    for s in [search.RandomSearch(seed=1), search.RegularizedEvolution(seed=1), search.PredictorSearch(seed=1)]:
        traj = search.run_search(s, BENCH, 40)
        assert len(traj.best_val) == 40 and np.all(np.diff(traj.best_val) >= 0)
        assert s.best[1] == max(traj.best_val)
        assert len(s.history) == 40
        assert np.all(traj.regret(BENCH.best_test) >= 0)


def test_regularized_evolution_kills_the_oldest_and_mutates_a_tournament_winner():
    rea = search.RegularizedEvolution(population_size=4, sample_size=4, seed=0)
    cells = [space.index_to_ops(i) for i in (10, 20, 30, 40, 50)]
    for c, score in zip(cells, [0.9, 0.1, 0.2, 0.3, 0.05]):
        rea.tell(c, score)
    assert [c for c, _ in rea.population] == cells[1:]      # the best (oldest) one died
    parent = cells[4 - 1]                                    # sample_size = population: the winner is 0.3
    child = rea.propose()
    assert sum(a != b for a, b in zip(child, parent)) == 1
    with pytest.raises(ValueError, match="need 1 <= sample_size <= population_size"):
        search.RegularizedEvolution(population_size=3, sample_size=5)


def test_rea_and_predictor_beat_random_search_on_a_learnable_space():
    final = {name: [] for name in ("random", "REA", "predictor")}
    for seed in range(12):
        for s in [search.RandomSearch(seed), search.RegularizedEvolution(seed=seed),
                  search.PredictorSearch(seed=seed)]:
            final[s.name].append(search.run_search(s, BENCH, 100).regret(BENCH.best_test)[-1])
    assert np.mean(final["REA"]) < np.mean(final["random"])
    assert np.mean(final["predictor"]) < np.mean(final["random"])


def test_run_search_rejects_bad_budget():
    with pytest.raises(ValueError, match="num_queries must be >= 1"):
        search.run_search(search.RandomSearch(), BENCH, 0)
    with pytest.raises(ValueError, match="no cell has been told yet"):
        _ = search.RandomSearch().best


def tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_gradient_proxies_match_their_formulas_and_leave_the_net_alone():
    net = tiny_net()
    before = [p.detach().clone() for p in net.parameters()]
    X, y = torch.randn(6, 1, 2, 2), torch.tensor([0, 1, 0, 1, 1, 0])
    loss = nn.functional.cross_entropy(net(X), y)
    grads = torch.autograd.grad(loss, [net[1].weight, net[3].weight])
    assert proxies.grad_norm(net, X, y) == pytest.approx(sum(g.norm().item() for g in grads), rel=1e-5)
    snip = sum((w * g).abs().sum().item() for w, g in zip([net[1].weight, net[3].weight], grads))
    assert proxies.snip(net, X, y) == pytest.approx(snip, rel=1e-5)
    for p, b in zip(net.parameters(), before):
        assert torch.equal(p, b) and p.grad is None


def test_synflow_is_data_free_and_uses_absolute_weights():
    net = tiny_net()
    X = torch.randn(6, 1, 2, 2)
    assert proxies.synflow(net, X) == proxies.synflow(net, 100 * X)
    # by hand: R = 1ᵀ|W2| relu(|W1| 1 + |b1|) + ..., and Σ|W ⊙ ∂R/∂W|
    W1, b1, W2 = net[1].weight.abs().double(), net[1].bias.abs().double(), net[3].weight.abs().double()
    h = W1 @ torch.ones(4, dtype=torch.float64) + b1
    expected = (W2 * h).sum() + (W1 * (W2.sum(0)[:, None] * torch.ones(1, 4, dtype=torch.float64))).sum()
    assert proxies.synflow(net, X) == pytest.approx(expected.item(), rel=1e-9)


def test_naswot_rewards_distinct_activation_patterns():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
    X = torch.randn(3, 1, 2, 2)
    same = X[:1].repeat(3, 1, 1, 1)
    assert proxies.naswot(net, X, None) > proxies.naswot(net, same, None)
    assert np.isfinite(proxies.jacob_cov(net, X, None))


def test_score_cells_is_seeded_and_validates_names():
    X, y = torch.rand(8, 1, 8, 8), torch.arange(8) % 10
    a = proxies.score_cells([0, 15_624], "synflow", X, y)
    b = proxies.score_cells([0, 15_624], "synflow", X, y)
    assert np.array_equal(a, b) and a[1] > a[0]
    with pytest.raises(ValueError, match="unknown proxy 'zen'"):
        proxies.score_cells([0], "zen", X, y)
