"""DARTS (genlab.nas.darts): the mixed op, the supernet, the bilevel steps, discretisation, the remedy."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.nas import darts
from genlab.nas.network import OP_BUILDERS, build_network
from genlab.nas.space import OPS


def _net(channels: int = 4, seed: int = 0) -> darts.Supernet:
    torch.manual_seed(seed)
    return darts.Supernet(channels)


def _batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_mix_is_the_softmax_weighted_sum_and_stable():
    x = torch.randn(3, 2, 4, 4)
    ops = [lambda t: t, lambda t: 2 * t, lambda t: -t]
    check = lambda a: sum(w * op(x) for w, op in zip(torch.softmax(a, 0), ops))  # noqa: E731
    assert torch.allclose(darts.mix(x, ops, torch.zeros(3)), (x + 2 * x - x) / 3, atol=1e-6)
    a = torch.tensor([0.3, -1.0, 2.0])
    assert torch.allclose(darts.mix(x, ops, a), check(a), atol=1e-6)
    big = darts.mix(x, ops, torch.tensor([1000.0, 0.0, 0.0]))   # exp(1000) overflows: softmax must not
    assert torch.isfinite(big).all() and torch.allclose(big, x)
    a = torch.zeros(3, requires_grad=True)
    darts.mix(x, ops, a).pow(2).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="one entry per op"):
        darts.mix(x, ops, torch.zeros(4))
    with pytest.raises(ValueError, match="one entry per op"):
        darts.mix(x, ops, torch.zeros(1, 3))


def test_mixed_op_computes_mix_of_its_ops_and_a_dominant_alpha_is_that_op():
    torch.manual_seed(0)
    edge = darts.MixedOp(4).eval()
    x = torch.randn(2, 4, 8, 8)
    for alpha in (torch.zeros(5), 3 * torch.randn(5), torch.tensor([0.0, float("-inf"), 1.0, 2.0, float("-inf")])):
        assert torch.allclose(edge(x, alpha), darts.mix(x, edge.ops, alpha), atol=1e-6)
    a1, a2 = torch.randn(5, requires_grad=True), None
    a2 = a1.detach().clone().requires_grad_(True)
    edge(x, a1).pow(2).sum().backward()
    darts.mix(x, edge.ops, a2).pow(2).sum().backward()
    assert torch.allclose(a1.grad, a2.grad, atol=1e-5)            # none's share of the softmax still counts
    for k, op in enumerate(OPS):
        alpha = torch.full((5,), -1e4)
        alpha[k] = 0.0
        assert torch.allclose(edge(x, alpha), edge.ops[k](x), atol=1e-6), op


def test_fast_avg_pool_equals_the_benchmark_op():
    pool = OP_BUILDERS["avg_pool_3x3"](3)
    for shape in ((2, 3, 8, 8), (1, 3, 4, 4), (1, 3, 2, 2)):
        x = torch.randn(shape)
        assert torch.allclose(darts.avg_pool_3x3(x), pool(x), atol=1e-6)


def test_supernet_shares_one_alpha_and_separates_it_from_the_weights():
    net = _net()
    x, _ = _batch(5)
    assert net(x).shape == (5, 10)
    assert net.alpha.shape == (6, 5)
    params = list(net.parameters())
    assert sum(p is net.alpha for p in params) == 1                      # registered once
    assert all(p is not net.alpha for p in net.weights())
    assert len(net.weights()) + 1 == len(params)
    cells = [m for m in net.modules() if isinstance(m, darts.SearchCell)]
    assert len(cells) == 2 and all(c._owner is net for c in cells)
    net(x).sum().backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="channels"):
        darts.Supernet(0)


def test_supernet_with_one_op_left_per_edge_computes_that_cell():
    cell = ("skip_connect", "avg_pool_3x3", "none", "skip_connect", "avg_pool_3x3", "skip_connect")
    net = _net(seed=1)
    for e, op in enumerate(cell):
        net.mask[e] = 0.0
        net.mask[e, OPS.index(op)] = 1.0
    ref = build_network(cell, channels=4)
    # the parameter-free cell has no weights of its own: copy the stem, reduction and head
    for part in ("stem", "head"):
        getattr(ref, part).load_state_dict(getattr(net.net, part).state_dict())
    ref.stages[1].load_state_dict(net.net.stages[1].state_dict())
    x, _ = _batch(6)
    assert torch.allclose(net(x), ref(x), atol=1e-5)


def test_weight_step_moves_only_the_weights_and_arch_step_only_alpha():
    net = _net()
    x, y = _batch()
    w_opt = torch.optim.SGD(net.weights(), lr=0.1)
    a_opt = torch.optim.SGD(net.arch_parameters(), lr=0.1)
    alpha0, weights0 = net.alpha.detach().clone(), [p.detach().clone() for p in net.weights()]
    darts.weight_step(net, w_opt, x, y)
    assert torch.equal(net.alpha, alpha0)
    assert any(not torch.equal(p, q) for p, q in zip(net.weights(), weights0))
    weights1 = [p.detach().clone() for p in net.weights()]
    ref = copy.deepcopy(net)
    loss = darts.arch_step(net, a_opt, x, y)
    assert all(torch.equal(p, q) for p, q in zip(net.weights(), weights1))
    expected = F.cross_entropy(ref(x), y)                       # the loss before the step...
    grad, = torch.autograd.grad(expected, ref.alpha)
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    assert torch.allclose(net.alpha, alpha0 - 0.1 * grad, atol=1e-6)  # ...and one plain gradient step
    darts.arch_step(net, a_opt, x, y)                            # grads are zeroed, not accumulated
    ref.alpha.data -= 0.1 * grad
    grad2, = torch.autograd.grad(F.cross_entropy(ref(x), y), ref.alpha)
    assert torch.allclose(net.alpha, ref.alpha - 0.1 * grad2, atol=1e-6)


def test_derive_cell_takes_the_argmax_and_excludes_none_by_default():
    alpha = torch.tensor([[5.0, 1, 2, 3, 0]] + [[-1.0, -0.5, -0.3, -0.2, -0.4]] * 4 + [[0, 0, 0, 0, 9.0]])
    saved = alpha.clone()
    assert darts.derive_cell(alpha) == ("nor_conv_3x3",) * 5 + ("avg_pool_3x3",)
    assert darts.derive_cell(alpha, exclude_none=False)[:2] == ("none", "nor_conv_3x3")
    assert torch.equal(alpha, saved)                              # not modified in place
    assert darts.derive_cell(torch.nn.Parameter(alpha)) == darts.derive_cell(alpha)
    with pytest.raises(ValueError, match="shape"):
        darts.derive_cell(torch.zeros(5, 6))


def test_alpha_history_records_softmax_weights():
    h = darts.AlphaHistory()
    with pytest.raises(ValueError, match="empty"):
        h.weights
    h.record(0, torch.zeros(6, 5))
    h.record(1, torch.tensor([[0.0, 3, 0, 0, 0]] * 6))
    assert h.weights.shape == (2, 6, 5) and len(h) == 2
    assert np.allclose(h.weights.sum(-1), 1.0)
    skip = h.op_weight("skip_connect")
    assert skip[0] == pytest.approx(0.2) and skip[1] > 0.8
    with pytest.raises(ValueError, match="unknown op"):
        h.op_weight("conv")


def test_split_halves_is_stratified_and_disjoint():
    y = torch.arange(10).repeat_interleave(7)
    X = torch.arange(70.0)[:, None]
    (Xa, ya), (Xb, yb) = darts.split_halves(X, y)
    assert len(ya) + len(yb) == 70
    assert set(Xa.flatten().tolist()).isdisjoint(Xb.flatten().tolist())
    assert torch.bincount(ya).tolist() == [3] * 10
    with pytest.raises(ValueError, match="need matching X and y"):
        darts.split_halves(X, y[:5])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="num_epochs must be >= 1"):
        darts.DartsConfig(num_epochs=0)
    with pytest.raises(ValueError, match="w_lr"):
        darts.DartsConfig(w_lr=0.0)


def test_search_runs_and_records_every_epoch():
    g = torch.Generator().manual_seed(0)
    data = type("D", (), {"X_train": torch.rand(80, 1, 8, 8, generator=g),
                          "y_train": torch.arange(10).repeat(8)})()
    seen = []
    result = darts.search(data, darts.DartsConfig(num_epochs=2, channels=4, batch_size=16), seed=0,
                          on_epoch=lambda e, net: seen.append(e))
    assert seen == [1, 2] and len(result.history) == 3
    assert len(result.train_loss) == len(result.alpha_loss) == 2
    assert not torch.equal(torch.tensor(result.history.weights[0]), torch.tensor(result.history.weights[-1]))
    assert len(result.cell()) == 6 and "none" not in result.cell()
    again = darts.search(data, darts.DartsConfig(num_epochs=2, channels=4, batch_size=16), seed=0)
    assert torch.equal(result.alpha, again.alpha)                   # reproducible per seed
    with pytest.raises(ValueError, match="X_train"):
        darts.search((data.X_train, data.y_train))


def test_perturbation_select_scores_every_op_and_leaves_the_net_as_it_was():
    net = _net()
    x, y = _batch(32)
    for _ in range(3):
        darts.weight_step(net, torch.optim.SGD(net.weights(), lr=0.05), x, y)
    running = [m.running_mean.clone() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = darts.supernet_loss(net, x, y)
    ops, scores = darts.perturbation_select(net, x, y)
    assert len(ops) == 6 and "none" not in ops
    assert scores.shape == (6, 5) and np.isnan(scores[:, 0]).all() and np.isfinite(scores[:, 1:]).all()
    assert torch.equal(net.mask, torch.ones(6, 5))
    assert darts.supernet_loss(net, x, y) == pytest.approx(before)
    after = [m.running_mean for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(running, after))   # running stats untouched
    # the first edge's choice is the op whose removal raised the loss most
    assert ops[0] == OPS[int(np.nanargmax(scores[0]))]
    ops_all, scores_all = darts.perturbation_select(net, x, y, exclude_none=False)
    assert np.isfinite(scores_all).all()


def test_mixing_weights_drop_does_not_renormalise_and_decided_edges_are_one_hot():
    net = _net()
    with torch.no_grad():
        net.alpha.copy_(torch.randn(6, 5, generator=torch.Generator().manual_seed(2)))
    p = torch.softmax(net.alpha.detach(), -1)
    assert torch.allclose(net.mixing_weights(), p)
    net.drop[2, 3] = 0.0
    w = net.mixing_weights()
    assert w[2, 3] == 0 and torch.allclose(w[2, [0, 1, 2, 4]], p[2, [0, 1, 2, 4]])   # the others keep theirs
    net.mask[1, 4] = 0.0                                                               # the variant renormalises
    assert torch.allclose(net.mixing_weights()[1].sum(), torch.tensor(1.0))
    net.decided[5] = True
    net.proj[5, 2] = 1.0
    assert torch.equal(net.mixing_weights()[5], torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0]))


def test_darts_pt_follows_the_paper_and_leaves_the_caller_net_alone():
    g = torch.Generator().manual_seed(0)
    data = type("D", (), {"X_train": torch.rand(80, 1, 8, 8, generator=g),
                          "y_train": torch.arange(10).repeat(8)})()
    cfg = darts.DartsConfig(num_epochs=1, channels=4, batch_size=16)
    result = darts.search(data, cfg, seed=0)
    alpha0 = result.net.alpha.detach().clone()
    state0 = {k: v.clone() for k, v in result.net.state_dict().items()}
    pt = darts.darts_pt(result.net, data, cfg, tune_epochs=1, seed=3, score_batch_size=16)
    assert sorted(pt.order) == list(range(6)) and len(pt.cell) == 6
    assert all(torch.equal(v, result.net.state_dict()[k]) for k, v in state0.items())   # caller's net untouched
    assert torch.equal(result.net.alpha, alpha0)
    assert pt.net.decided.all() and torch.equal(pt.net.proj.sum(1), torch.ones(6))
    for e in range(6):                                       # kept: the op whose removal costs most accuracy
        first_min = int(np.nanargmin(pt.acc[e]))
        assert pt.cell[e] == OPS[first_min]
    again = darts.darts_pt(result.net, data, cfg, tune_epochs=1, seed=3, score_batch_size=16)
    assert again.cell == pt.cell and again.order == pt.order                         # seeded
    other = darts.darts_pt(result.net, data, cfg, tune_epochs=0, seed=4, crit="loss", exclude_none=True,
                          score_batch_size=16)
    assert "none" not in other.cell and np.isnan(other.loss[:, 0]).all()
    for e in range(6):
        assert other.cell[e] == OPS[int(np.nanargmax(other.loss[e]))]
    # with no fine-tuning, the first decision's scores are the supernet's with one weight zeroed
    e0 = other.order[0]
    net = copy.deepcopy(result.net)
    net.drop[e0, 3] = 0.0
    assert darts.supernet_scores(net, *darts.split_halves(data.X_train, data.y_train)[1], 16)[1] == \
        pytest.approx(other.loss[e0, 3], rel=1e-5)
    with pytest.raises(ValueError, match="crit"):
        darts.darts_pt(result.net, data, cfg, crit="auc")


def _tiny_data():
    g = torch.Generator().manual_seed(0)
    return type("D", (), {"X_train": torch.rand(80, 1, 8, 8, generator=g),
                          "y_train": torch.arange(10).repeat(8)})()


def _softmax_free_mix(x, ops, alpha):
    """A wrong mixed op (07's first warned mistake): weights alpha itself, no softmax."""
    return sum(a * op(x) for a, op in zip(alpha, ops))


def _arch_step_without_zero_grad(net, alpha_optimizer, x_val, y_val):
    """A wrong architecture step (07's warned mistake): gradients add up across steps."""
    loss = F.cross_entropy(net(x_val), y_val)
    loss.backward()
    alpha_optimizer.step()
    return loss.item()


def test_supernet_with_a_mixed_op_function_computes_the_same_edges():
    net = _net(seed=3)
    with torch.no_grad():
        net.alpha.copy_(torch.randn(6, 5, generator=torch.Generator().manual_seed(5)))
    mine = copy.deepcopy(net)
    mine.mixed_op = darts.mix
    x, _ = _batch(6)
    assert torch.allclose(net(x), mine(x), atol=1e-6)
    for m in (net, mine):                       # the selections' masks, drops and projections too
        m.mask[0, 2] = 0.0
        m.drop[1, 3] = 0.0
        m.decided[4], m.proj[4, 1] = True, 1.0
    assert torch.allclose(net(x), mine(x), atol=1e-6)
    mine(x).sum().backward()
    assert mine.alpha.grad is not None and mine.alpha.grad[4].abs().sum() == 0   # a decided edge: no α gradient
    wrong = copy.deepcopy(mine)
    wrong.mixed_op = _softmax_free_mix
    assert not torch.allclose(wrong(x), mine(x), atol=1e-3)         # the function really computes the edges


def test_search_runs_the_given_mixed_op_and_arch_step():
    data, cfg = _tiny_data(), darts.DartsConfig(num_epochs=2, channels=4, batch_size=16)
    ref = darts.search(data, cfg, seed=0)
    calls = []

    def counted_step(*args):
        calls.append(1)
        return darts.arch_step(*args)

    same = darts.search(data, cfg, seed=0, mixed_op=darts.mix, arch_step=counted_step)
    assert len(calls) == 2 * 3                                        # 2 epochs of 3 batches (w half: 40 rows)
    assert torch.allclose(same.alpha, ref.alpha, atol=1e-6)
    assert same.net.mixed_op is darts.mix
    no_zero_grad = darts.search(data, cfg, seed=0, arch_step=_arch_step_without_zero_grad)
    assert not torch.allclose(no_zero_grad.alpha, ref.alpha, atol=1e-4)
    no_softmax = darts.search(data, cfg, seed=0, mixed_op=_softmax_free_mix)
    assert not torch.allclose(no_softmax.alpha, ref.alpha, atol=1e-4)
    assert ref.cell(discretize=lambda a, exclude_none: ("skip_connect",) * 6) == ("skip_connect",) * 6


def test_darts_pt_fine_tunes_with_the_given_arch_step_and_the_net_mixed_op():
    data, cfg = _tiny_data(), darts.DartsConfig(num_epochs=1, channels=4, batch_size=16)
    result = darts.search(data, cfg, seed=0)
    ref = darts.darts_pt(result.net, data, cfg, tune_epochs=1, seed=3)
    calls = []

    def counted_step(*args):
        calls.append(1)
        return darts.arch_step(*args)

    mine_net = copy.deepcopy(result.net)
    mine_net.mixed_op = darts.mix
    mine = darts.darts_pt(mine_net, data, cfg, tune_epochs=1, seed=3, arch_step=counted_step)
    assert len(calls) == 5 * 3                                        # 5 fine-tunings of one 3-batch epoch
    assert mine.cell == ref.cell and np.allclose(mine.acc, ref.acc, equal_nan=True)
    assert mine.net.mixed_op is darts.mix
    wrong = darts.darts_pt(result.net, data, cfg, tune_epochs=1, seed=3, arch_step=_arch_step_without_zero_grad)
    assert not torch.allclose(wrong.net.alpha, ref.net.alpha, atol=1e-5)
