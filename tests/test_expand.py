"""genlab.nas.expand: self-expanding networks (09_self_expanding)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons
from torch import nn

from genlab.nas import expand
from genlab.nn import count_parameters
from genlab.nas.expand import (ExpandConfig, ExpandingMLP, add_neuron, break_even_density, candidate_gains,
                               grow, natural_expansion_score, readout_fisher, readout_parameters,
                               should_grow, sparse_memory_bytes, tensor_bytes, train_expanding)


def spd(p: int, seed: int = 0, rank: int | None = None) -> torch.Tensor:
    a = torch.randn(p, rank or p, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T / p


def moons(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


# ----------------------------------------------------------------------------- the score
def test_score_by_hand_and_zero_gradient():
    assert natural_expansion_score(torch.tensor([2.0]), torch.tensor([[4.0]]), 0.0).item() == pytest.approx(1.0)
    assert natural_expansion_score(torch.tensor([2.0]), torch.tensor([[3.0]]), 1.0).item() == pytest.approx(1.0)
    assert natural_expansion_score(torch.zeros(5, dtype=torch.float64), spd(5), 1e-3).item() == 0.0


def test_score_nonnegative_batched_and_broadcast():
    g = torch.randn(7, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fisher = torch.stack([spd(6, s, rank=3) for s in range(7)])          # singular: damping needed
    eta = natural_expansion_score(g, fisher, 1e-2)
    assert eta.shape == (7,) and (eta >= 0).all()
    one = torch.stack([natural_expansion_score(g[i], fisher[i], 1e-2) for i in range(7)])
    torch.testing.assert_close(eta, one)
    shared = natural_expansion_score(g, fisher[0], 1e-2)                 # one F for every g
    torch.testing.assert_close(shared[3], natural_expansion_score(g[3], fisher[0], 1e-2))


def test_score_is_invariant_to_reparameterisation():
    """The natural gradient does not care how the parameters are written: theta = A phi."""
    g, fisher = torch.randn(4, dtype=torch.float64), spd(4, 2)
    a = torch.randn(4, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 3 * torch.eye(4)
    eta = natural_expansion_score(g, fisher, 0.0)
    torch.testing.assert_close(natural_expansion_score(a.T @ g, a.T @ fisher @ a, 0.0), eta)
    assert natural_expansion_score(g, fisher, 10.0) < eta                 # damping shrinks it


def test_score_rejects_bad_arguments():
    with pytest.raises(ValueError, match="damping must be >= 0"):
        natural_expansion_score(torch.ones(3), torch.eye(3), -1.0)
    with pytest.raises(ValueError, match="square fisher"):
        natural_expansion_score(torch.ones(3), torch.eye(4))
    with pytest.raises(ValueError, match="square fisher"):
        natural_expansion_score(torch.ones(3), torch.ones(3, 4))


def test_readout_fisher_is_the_gradient_and_the_hessian():
    torch.manual_seed(0)
    n, hdim, c = 30, 4, 3
    h, y = torch.randn(n, hdim, dtype=torch.float64), torch.randint(c, (n,))
    readout = nn.Linear(hdim, c).double()
    theta = readout_parameters(readout).detach()

    def loss(t: torch.Tensor) -> torch.Tensor:
        wb = t.reshape(c, hdim + 1)
        return F.cross_entropy(h @ wb[:, :-1].T + wb[:, -1], y)

    g, fisher = readout_fisher(h, readout(h), y)
    torch.testing.assert_close(g, torch.func.grad(loss)(theta))
    # softmax cross-entropy of a linear readout: the Fisher *is* the Hessian
    torch.testing.assert_close(fisher, torch.autograd.functional.hessian(loss, theta))


def direct_gain(h, logits, y, u, damping, readout=None, wd=0.0):
    """eta' - eta by brute force: the candidate as an extra hidden unit with zero outgoing weight."""
    g0, f0 = readout_fisher(h, logits, y)
    g1, f1 = readout_fisher(torch.cat([h, u], 1), logits, y)
    if wd:
        theta = readout_parameters(readout).detach().double()
        g0 = g0 + wd * theta
        wb = theta.reshape(logits.shape[1], -1)
        theta1 = torch.cat([wb[:, :-1], torch.zeros_like(wb[:, :1]), wb[:, -1:]], 1).reshape(-1)
        g1 = g1 + wd * theta1
    return (natural_expansion_score(g1, f1, damping + wd) - natural_expansion_score(g0, f0, damping + wd)).item()


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_candidate_gains_match_the_direct_computation(wd):
    torch.manual_seed(1)
    n, hdim, c, m = 50, 3, 4, 5
    h, y, u = torch.randn(n, hdim), torch.randint(c, (n,)), torch.tanh(torch.randn(n, m))
    readout = nn.Linear(hdim, c)
    with torch.no_grad():
        eta, gains = candidate_gains(h, readout(h), y, u, 1e-3, wd, readout_parameters(readout))
        g, fisher = readout_fisher(h, readout(h), y)
    if not wd:
        assert eta.item() == pytest.approx(natural_expansion_score(g, fisher, 1e-3).item())
    assert (gains >= 0).all()
    for j in range(m):
        with torch.no_grad():
            want = direct_gain(h, readout(h), y, u[:, j:j + 1], 1e-3, readout, wd)
        assert gains[j].item() == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_a_copy_of_an_existing_neuron_gains_nothing():
    torch.manual_seed(2)
    h, y = torch.tanh(torch.randn(80, 3)), torch.randint(2, (80,))
    readout = nn.Linear(3, 2)
    u = torch.cat([h[:, :1], torch.tanh(torch.randn(80, 1))], 1)       # a duplicate and a fresh one
    with torch.no_grad():
        _, gains = candidate_gains(h, readout(h), y, u, 1e-6)
    assert gains[0] < 1e-4 * gains[1]


def test_candidate_gains_need_theta_for_weight_decay():
    h, y, u = torch.randn(10, 2), torch.randint(2, (10,)), torch.randn(10, 3)
    with pytest.raises(ValueError, match="weight_decay needs the readout parameters theta"):
        candidate_gains(h, torch.randn(10, 2), y, u, 1e-3, 0.1)
    with pytest.raises(ValueError, match="need candidate activations u"):
        candidate_gains(h, torch.randn(10, 2), y, torch.randn(9, 3))


# ----------------------------------------------------------------------------- growing
def test_add_neuron_preserves_the_function():
    torch.manual_seed(3)
    fc_in, fc_out = nn.Linear(5, 3), nn.Linear(3, 4)
    before = [t.detach().clone() for t in (fc_in.weight, fc_in.bias, fc_out.weight, fc_out.bias)]
    w, b = torch.randn(5), 0.7
    new_in, new_out = add_neuron(fc_in, fc_out, w, b)
    assert (new_in.out_features, new_out.in_features) == (4, 4)
    x = torch.randn(64, 5)
    with torch.no_grad():
        diff = (new_out(torch.tanh(new_in(x))) - fc_out(torch.tanh(fc_in(x)))).abs().max().item()
    assert diff <= 1e-6
    torch.testing.assert_close(new_in.weight[-1], w)
    assert new_in.bias[-1].item() == pytest.approx(0.7)
    assert (new_out.weight[:, -1] == 0).all()
    torch.testing.assert_close(new_in.weight[:3], before[0])
    for t, old in zip((fc_in.weight, fc_in.bias, fc_out.weight, fc_out.bias), before):
        assert torch.equal(t, old)                                          # originals untouched
    # the new neuron is not dead: its outgoing weights get a gradient at once
    F.cross_entropy(new_out(torch.tanh(new_in(x))), torch.randint(4, (64,))).backward()
    assert new_out.weight.grad[:, -1].abs().sum() > 0


def test_add_neuron_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fc_in has 3 outputs but fc_out has 4 inputs"):
        add_neuron(nn.Linear(5, 3), nn.Linear(4, 2), torch.zeros(5), 0.0)
    with pytest.raises(ValueError, match="w_in needs 5 weights, got 4"):
        add_neuron(nn.Linear(5, 3), nn.Linear(3, 2), torch.zeros(4), 0.0)
    with pytest.raises(ValueError, match="expects layers with biases"):
        add_neuron(nn.Linear(5, 3, bias=False), nn.Linear(3, 2), torch.zeros(5), 0.0)


def _steps(model, opt, X, y, n):
    for _ in range(n):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()


def test_growing_adam_is_torch_adam_while_nothing_grows():
    X, y = moons(100)
    torch.manual_seed(4)
    a = ExpandingMLP(2, 3, 2)
    b = copy.deepcopy(a)
    _steps(a, expand.GrowingAdam(a.parameters(), lr=0.03, weight_decay=1e-3), X, y, 20)
    _steps(b, torch.optim.Adam(b.parameters(), lr=0.03, weight_decay=1e-3), X, y, 20)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_grow_keeps_adam_state_and_function():
    torch.manual_seed(4)
    X, y = moons(100)
    model = ExpandingMLP(2, 2, 2)
    opt = expand.GrowingAdam(model.parameters(), lr=0.01)
    _steps(model, opt, X, y, 3)
    avg = opt.state[model.fc_out.weight]["exp_avg"].clone()
    with torch.no_grad():
        before = model(X)
    grow(model, torch.randn(2), 0.1, opt)
    with torch.no_grad():
        assert (model(X) - before).abs().max() <= 1e-6
    state = opt.state[model.fc_out.weight]
    assert state["exp_avg"].shape == (2, 3) and torch.equal(state["exp_avg"][:, :2], avg)
    assert (state["exp_avg"][:, 2] == 0).all() and (state["exp_avg_sq"][:, 2] == 0).all()
    assert (state["step"][:, :2] == 3).all() and (state["step"][:, 2] == 0).all()   # new entries: step 0
    assert (opt.state[model.fc_in.weight]["step"][2] == 0).all() and opt.state[model.fc_in.bias]["step"][2] == 0
    _steps(model, opt, X, y, 1)                                              # the optimiser still works
    assert model.width == 3 and len(opt.param_groups[0]["params"]) == 4
    assert (opt.state[model.fc_out.weight]["step"][:, 2] == 1).all()
    with pytest.raises(TypeError, match="GrowingAdam"):
        grow(model, torch.randn(2), 0.1, torch.optim.Adam(model.parameters()))


def test_a_grown_weight_takes_a_fresh_adam_step():
    """The first update of a new outgoing weight is Adam's first step, lr * sign(g), after 200 old steps;
    with the old tensor's step count carried over (what torch.optim.Adam would do) it is 1.35 lr at
    t = 200 and tends to 3.16 lr: a kick, not a fresh step."""
    torch.manual_seed(5)
    X, y = moons(200)
    lr = 0.01
    model = ExpandingMLP(2, 1, 2)
    opt = expand.GrowingAdam(model.parameters(), lr=lr)
    _steps(model, opt, X, y, 200)
    grow(model, torch.tensor([1.5, 0.0]), 0.0, opt)                 # a vertical line: a useful feature
    carried = copy.deepcopy(opt.state[model.fc_out.weight])
    before = model.fc_out.weight[:, -1].detach().clone()
    _steps(model, opt, X, y, 1)
    step_new = (model.fc_out.weight[:, -1] - before).abs()
    assert torch.allclose(step_new, torch.full_like(step_new, lr), rtol=1e-3), step_new
    # the same update with the old count (200) for the new column, computed by hand
    g = model.fc_out.weight.grad[:, -1]
    t, b1, b2 = 200.0, 0.9, 0.999
    m, v = (1 - b1) * g, (1 - b2) * g * g
    stale = lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + 1e-8)
    factor = (1 - b1) / (1 - b1 ** t) / ((1 - b2) / (1 - b2 ** t)) ** 0.5      # 1.35 at t = 200, 3.16 as t grows
    assert torch.allclose(stale.abs(), torch.full_like(stale, lr * factor), rtol=1e-3) and factor > 1.3
    assert (carried["step"][:, :-1] == 200).all()


def test_should_grow_needs_both_rules():
    config = ExpandConfig(tau=1.0, min_gain=0.01)
    assert should_grow(eta=0.01, gain=0.05, config=config)
    assert not should_grow(eta=0.1, gain=0.05, config=config)   # relative rule fails
    assert not should_grow(eta=0.0, gain=0.015, config=config)  # absolute rule fails
    with pytest.raises(ValueError, match="tau, min_gain and weight_decay must be >= 0"):
        ExpandConfig(tau=-1)
    with pytest.raises(ValueError, match="max_steps, check_every, num_candidates and max_width must be >= 1"):
        ExpandConfig(max_steps=0)


def test_choose_candidate_takes_the_best_candidate_when_both_rules_hold():
    choose = expand.choose_candidate
    assert choose(0.02, torch.tensor([0.01, 0.09, 0.04]), 1.0, 0.005) == 1
    assert choose(0.1, torch.tensor([0.05, 0.08]), 1.0, 0.001) is None        # gain < tau * eta (eta' > tau * eta)
    assert choose(0.001, torch.tensor([0.015, 0.012]), 1.0, 0.01) is None     # gain / 2 below the price
    assert choose(0.0, torch.tensor([1e-4, 3e-4]), 1.0, 0.005) is None        # no price paid
    assert choose(0.1, torch.tensor([0.15]), 2.0, 0.0) is None                # tau = 2
    assert choose(0.1, torch.zeros(0), 1.0, 0.0) is None                       # no candidates
    assert choose(0.1, torch.tensor([0.3, 0.5, 0.5], dtype=torch.float64), 1.0, 0.0) == 1   # the first of a tie
    assert choose(torch.tensor(0.25), torch.tensor([0.5], dtype=torch.float64), 2.0, 0.0) is None   # strict
    gains = torch.tensor([0.2, 0.4])
    assert type(choose(0.0, gains, 1.0, 0.0)) is int and torch.equal(gains, torch.tensor([0.2, 0.4]))
    for eta, gain in [(0.01, 0.05), (0.1, 0.05), (0.0, 0.015)]:                  # the same rule as should_grow
        config = ExpandConfig(tau=1.0, min_gain=0.01)
        assert (choose(eta, torch.tensor([gain]), 1.0, 0.01) == 0) == should_grow(eta, gain, config)


def test_train_expanding_takes_its_decisions_from_decide():
    X, y = moons(200)
    config = ExpandConfig(max_steps=120, check_every=10)
    calls = []

    def spy(eta, gains, tau, min_gain):
        calls.append((eta, gains.clone(), tau, min_gain))
        return expand.choose_candidate(eta, gains, tau, min_gain)

    ref_model, ref_hist = train_expanding(X, y, 2, config, seed=0)
    model, hist = train_expanding(X, y, 2, config, seed=0, decide=spy)
    assert hist.grew == ref_hist.grew and torch.equal(model(X), ref_model(X))
    assert len(calls) == 12 and calls[0][1].shape == (config.num_candidates,)
    assert calls[0][2:] == (config.tau, config.min_gain)
    assert train_expanding(X, y, 2, config, decide=lambda *a: None)[0].width == 1
    last = train_expanding(X, y, 2, ExpandConfig(max_steps=30, check_every=10), decide=lambda e, g, t, m: len(g) - 1)[0]
    assert last.width == 4
    with pytest.raises(ValueError, match="candidate index"):
        train_expanding(X, y, 2, config, decide=lambda *a: True)


def test_network_grows_from_one_neuron_and_stops():
    X, y = moons(400)
    config = ExpandConfig(max_steps=600, check_every=20)
    model, hist = train_expanding(X, y, 2, config, seed=0)
    assert hist.width[0] <= 2 and model.width == hist.width[-1] > 1
    assert model.width < config.max_width
    half = len(hist.grew) // 2
    assert not any(hist.grew[half:]), f"still growing late: {hist.growth_steps}"
    assert max(hist.max_diff) <= 1e-6
    with torch.no_grad():
        assert (model(X).argmax(1) == y).float().mean() > 0.9


def test_growth_thresholds_control_growth():
    X, y = moons(200)
    never = ExpandConfig(max_steps=100, check_every=10, min_gain=10.0)
    assert train_expanding(X, y, 2, never)[0].width == 1
    always = ExpandConfig(max_steps=100, check_every=10, tau=0.0, min_gain=0.0, max_width=4)
    model, hist = train_expanding(X, y, 2, always)
    assert model.width == 4 and sum(hist.grew) == 3                         # capped by max_width



def test_train_full_batch_runs_max_steps_and_the_one_parameter_counter_counts_the_mlp():
    X, y = moons(100)
    torch.manual_seed(0)
    model = ExpandingMLP(2, 3, 2)
    start = copy.deepcopy(model.state_dict())
    expand.train_full_batch(model, X, y, ExpandConfig(), max_steps=0)        # zero steps: untouched
    assert all(torch.equal(start[k], v) for k, v in model.state_dict().items())
    expand.train_full_batch(model, X, y, ExpandConfig(max_steps=5))          # the config's length
    assert not torch.equal(start["fc_in.weight"], model.fc_in.weight)
    assert ExpandConfig().max_steps == 1500
    assert count_parameters(model) == (2 * 3 + 3) + (3 * 2 + 2)
    assert not hasattr(expand, "num_params")                                 # one counter: genlab.nn's


# ----------------------------------------------------------------------------- memory
@pytest.mark.parametrize("shape, density, dtype", [((64, 32), 0.1, torch.float32), ((7, 100), 0.5, torch.float64),
                                                   ((1, 5), 0.6, torch.float32), ((50, 50), 0.0, torch.float32)])
def test_memory_formula_matches_torch(shape, density, dtype):
    g = torch.Generator().manual_seed(5)
    w = torch.randn(shape, generator=g, dtype=dtype)
    w = w * (torch.rand(shape, generator=g) < density)
    nnz, value = int((w != 0).sum()), w.element_size()
    assert sparse_memory_bytes(shape, nnz, "dense", value) == tensor_bytes(w)
    for layout in ("coo", "csr"):
        assert sparse_memory_bytes(shape, nnz, layout, value) == tensor_bytes(expand.to_layout(w, layout))


def test_break_even_density():
    assert break_even_density((100, 100), "coo") == pytest.approx(0.2)
    shape = (200, 300)
    for layout in ("coo", "csr"):
        d = break_even_density(shape, layout)
        below, above = math.floor(d * 60000) - 1, math.ceil(d * 60000) + 1
        dense = sparse_memory_bytes(shape, 0, "dense")
        assert sparse_memory_bytes(shape, below, layout) < dense < sparse_memory_bytes(shape, above, layout)
    assert 0.3 < break_even_density(shape, "csr") < 1 / 3
    assert break_even_density(shape, "csr", index_bytes=4) > 0.49           # int32 indices


def test_memory_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"nnz must be in \[0, rows \* cols = 9\]"):
        sparse_memory_bytes((3, 3), 10)
    with pytest.raises(ValueError, match="layout must be one of"):
        sparse_memory_bytes((3, 3), 2, "bsr")
    with pytest.raises(ValueError, match=r"shape must be \(rows, cols\)"):
        sparse_memory_bytes((3,), 2)
    with pytest.raises(ValueError, match="layout must be 'coo' or 'csr'"):
        break_even_density((3, 3), "dense")


def test_magnitude_prune_keeps_the_largest():
    w = torch.tensor([[0.1, -3.0], [2.0, -0.5]])
    torch.testing.assert_close(expand.magnitude_prune(w, 0.5), torch.tensor([[0.0, -3.0], [2.0, 0.0]]))
    assert (expand.magnitude_prune(w, 0.0) == 0).all()
    with pytest.raises(ValueError, match=r"density must be in \[0, 1\]"):
        expand.magnitude_prune(w, 1.5)


def _kfac_by_hand(model, X, y, u, lam, wd):
    """K-FAC factors from autograd, summing over every possible label, and explicit Kronecker solves."""
    X = X.double()
    m = copy.deepcopy(model).double()
    n, c = len(X), m.fc_out.out_features
    pre = m.fc_in(X).detach().requires_grad_(True)
    h = torch.tanh(pre)
    logp = torch.log_softmax(m.fc_out(h), 1)
    p = logp.exp().detach()
    a_in = torch.cat([X, torch.ones(n, 1, dtype=X.dtype)], 1)
    a_out = torch.cat([h.detach(), torch.ones(n, 1, dtype=X.dtype)], 1)
    s_in, s_out = 0, 0
    for k in range(c):
        d_pre, = torch.autograd.grad(logp[:, k].sum(), pre, retain_graph=True)
        d_out = torch.eye(c, dtype=X.dtype)[k] - p                             # d log p_k / d logits
        s_in = s_in + (p[:, k, None, None] * d_pre[:, :, None] * d_pre[:, None, :]).sum(0) / n
        s_out = s_out + (p[:, k, None, None] * d_out[:, :, None] * d_out[:, None, :]).sum(0) / n
    loss = F.cross_entropy(m(X), y) + wd / 2 * sum((q ** 2).sum() for q in m.parameters())
    gw1, gb1, gw2, gb2 = torch.autograd.grad(loss, list(m.parameters()))
    g_in, g_out = torch.cat([gw1, gb1[:, None]], 1), torch.cat([gw2, gb2[:, None]], 1)

    def eta(g, a, s):
        return natural_expansion_score(g.T.reshape(-1), torch.kron(a, s), lam)

    eta0 = eta(g_in, a_in.T @ a_in / n, s_in) + eta(g_out, a_out.T @ a_out / n, s_out)
    gains = []
    for j in range(u.shape[1]):
        a_new = torch.cat([a_out, u[:, j:j + 1].double()], 1)
        g_v = (p - F.one_hot(y, c).double()).T @ u[:, j].double() / n
        g_new = torch.cat([g_out, g_v[:, None]], 1)
        gains.append(eta(g_new, a_new.T @ a_new / n, s_out) - eta(g_out, a_out.T @ a_out / n, s_out))
    return eta0, torch.stack(gains)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_kfac_gains_match_the_kronecker_factors_built_by_hand(wd):
    torch.manual_seed(6)
    X, y = torch.randn(30, 3), torch.randint(0, 3, (30,))
    model = ExpandingMLP(3, 4, 3)
    u = torch.tanh(X @ torch.randn(3, 5) + torch.randn(5))
    eta, gains, per_layer = expand.kfac_gains(model, X, y, u, 1e-3, wd)
    eta_ref, gains_ref = _kfac_by_hand(model, X, y, u, 1e-3 + wd, wd)
    assert torch.allclose(eta, eta_ref, rtol=1e-6) and torch.allclose(per_layer.sum(), eta)
    assert torch.allclose(gains, gains_ref.clamp_min(0), rtol=1e-5, atol=1e-10)
    assert (gains >= 0).all() and per_layer[0] > 0                  # the hidden layer counts


def test_kfac_a_copy_of_an_existing_neuron_gains_nothing():
    torch.manual_seed(7)
    X, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    model = ExpandingMLP(2, 3, 2)
    with torch.no_grad():
        u = torch.cat([model.hidden(X)[:, :1], torch.tanh(torch.randn(40, 1))], 1)   # a duplicate, a fresh one
    gains = expand.kfac_gains(model, X, y, u, 1e-6)[1]
    assert gains[0] < 1e-2 * gains[1]                                # ~1e-3: only the damping separates them


def test_growth_with_the_kfac_score_preserves_the_function():
    X, y = moons(200)
    config = ExpandConfig(max_steps=60, check_every=10, score="kfac", min_gain=0.0, max_width=4)
    model, hist = train_expanding(X, y, 2, config, seed=0)
    assert model.width > 1 and max(hist.max_diff) <= 1e-6
    with pytest.raises(ValueError, match="score must be"):
        ExpandConfig(score="exact")
