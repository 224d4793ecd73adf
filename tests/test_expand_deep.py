"""genlab.nas.expand_deep: width growth in every hidden layer and depth growth (09_self_expanding)."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons

from genlab.nas import expand
from genlab.nas import expand_deep as ed
from genlab.nas.expand import ExpandConfig


def moons(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


def net64(widths=(3, 4), seed: int = 0, classes: int = 3, inputs: int = 2) -> ed.DeepExpandingMLP:
    torch.manual_seed(seed)
    return ed.DeepExpandingMLP(inputs, widths, classes).double()


def data64(n: int = 60, seed: int = 0, classes: int = 3, inputs: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, inputs, generator=g, dtype=torch.float64), torch.randint(classes, (n,), generator=g)


def rotation(width: int, seed: int = 0, scale: float = 2.0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(width, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return scale * q


# ----------------------------------------------------------------------------- the network
def test_one_layer_is_the_notebooks_tanh_network():
    deep = net64((5,))
    flat = expand.ExpandingMLP(2, 5, 3).double()
    flat.fc_in.load_state_dict(deep.hidden[0].state_dict())
    flat.fc_out.load_state_dict(deep.out.state_dict())
    X, _ = data64()
    assert torch.equal(deep(X), flat(X))
    assert deep.widths == [5] and deep.depth == 1


def test_sizes_are_checked():
    with pytest.raises(ValueError):
        ed.DeepExpandingMLP(2, [], 3)
    with pytest.raises(ValueError):
        ed.DeepExpandingMLP(2, [3, 0], 3)
    with pytest.raises(ValueError):
        ed.DeepExpandingMLP(0, [3], 3)


# ----------------------------------------------------------------------------- growth preserves the function
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_width_growth_in_any_layer_preserves_outputs(layer):
    model, (X, _) = net64((3, 4, 2)), data64()
    before = model(X).detach()
    ed.add_neuron_at(model, layer, torch.randn(model.linears()[layer].in_features, dtype=torch.float64), 0.7)
    assert model.widths[layer] == [3, 4, 2][layer] + 1
    assert (model(X) - before).abs().max().item() <= 1e-12
    assert torch.equal(model.linears()[layer + 1].weight[:, -1], torch.zeros(model.linears()[layer + 1].out_features,
                                                                             dtype=torch.float64))
    assert model.alpha[layer][-1].item() == 0.0 and model.beta[layer][-1].item() == 1.0    # a tanh neuron


@pytest.mark.parametrize("after", [0, 1])
def test_depth_growth_preserves_outputs_with_a_random_basis(after):
    model, (X, _) = net64((3, 4)), data64()
    before = model(X).detach()
    width = model.widths[after]
    ed.insert_layer(model, after, rotation(width, after), torch.randn(width, dtype=torch.float64))
    assert model.depth == 3 and model.widths[after + 1] == width
    assert (model(X) - before).abs().max().item() <= 1e-10


def test_new_layer_is_the_identity_at_insertion():
    model, (X, _) = net64((3, 4)), data64()
    before = model(X).detach()
    nxt = copy.deepcopy(model.hidden[1])
    ed.insert_layer(model, 0)                                       # B = I, s = 0
    inputs, pres = model.activations(X)
    assert torch.equal(inputs[2], inputs[1])                        # the new layer maps h to h exactly
    assert torch.equal(model.hidden[1].weight, torch.eye(3, dtype=torch.float64))
    assert torch.equal(model.alpha[1], torch.ones(3, dtype=torch.float64))
    assert torch.equal(model.beta[1], torch.zeros(3, dtype=torch.float64))
    assert torch.equal(model.hidden[2].weight, nxt.weight)          # the next layer is untouched
    assert torch.equal(model(X), before)


def test_growth_refuses_bad_arguments():
    model = net64((3, 4))
    with pytest.raises(ValueError):
        ed.add_neuron_at(model, 2, torch.zeros(4), 0.0)             # only hidden layers 0, 1
    with pytest.raises(ValueError):
        ed.add_neuron_at(model, 1, torch.zeros(4), 0.0)             # layer 1 has 3 inputs
    with pytest.raises(ValueError):
        ed.insert_layer(model, 0, torch.zeros(3, 3))                # singular basis
    with pytest.raises(ValueError):
        ed.insert_layer(model, 0, torch.eye(4))                     # wrong size
    with pytest.raises(ValueError):
        ed.insert_layer(model, 5)


# ----------------------------------------------------------------------------- the optimiser
def _trained(widths=(3, 4), steps: int = 5):
    model, (X, y) = net64(widths), data64()
    opt = ed.make_optimizer(model, ExpandConfig(lr=0.01))
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    return model, opt, X, y


def test_width_growth_gives_new_entries_fresh_adam_state():
    model, opt, X, y = _trained()
    old = dict(model.named_parameters())
    mapping = ed.add_neuron_at(model, 0, torch.randn(2, dtype=torch.float64), 0.1)
    ed.regrow_optimizer(model, opt, old, mapping)
    st_in, st_out = opt.state[model.hidden[0].weight], opt.state[model.hidden[1].weight]
    assert torch.equal(st_in["step"][-1], torch.zeros(2, dtype=torch.float64))          # new row: step 0
    assert (st_in["step"][:-1] == 5).all() and (st_in["exp_avg"][-1] == 0).all()
    assert torch.equal(st_out["step"][:, -1], torch.zeros(4, dtype=torch.float64))      # new column: step 0
    assert (st_out["exp_avg_sq"][:, :-1] > 0).any()                                        # old moments kept
    assert opt.state[model.beta[0]]["step"].tolist() == [5, 5, 5, 0]
    ids = {id(p) for g in opt.param_groups for p in g["params"]}
    assert ids == {id(p) for p in model.parameters()}
    opt.zero_grad()
    F.cross_entropy(model(X), y).backward()
    opt.step()                                                                             # runs on the new shapes
    assert st_in["step"][-1].tolist() == [1, 1]


def test_depth_growth_starts_new_and_rewritten_layers_fresh():
    model, opt, X, y = _trained()
    old = dict(model.named_parameters())
    mapping = ed.insert_layer(model, 0, rotation(3), torch.zeros(3, dtype=torch.float64))
    ed.regrow_optimizer(model, opt, old, mapping)
    assert mapping["hidden.0.weight"] == "hidden.0.weight" and mapping["hidden.1.weight"] is None
    assert mapping["hidden.2.weight"] is None and mapping["out.weight"] == "out.weight"
    assert mapping["alpha.2"] == "alpha.1" and mapping["alpha.1"] is None
    for p in (model.hidden[1].weight, model.hidden[2].weight, model.alpha[1]):
        assert p not in opt.state                                   # fresh: zero moments, step 0 on first use
    assert (opt.state[model.out.weight]["step"] == 5).all()
    assert (opt.state[model.hidden[0].weight]["step"] == 5).all()
    assert opt.param_groups[1]["weight_decay"] == 0.0 and len(opt.param_groups[1]["params"]) == 6


# ----------------------------------------------------------------------------- the score
def test_kfac_score_matches_expand_on_one_layer():
    model, (X, y) = net64((4,)), data64()
    flat = expand.ExpandingMLP(2, 4, 3).double()
    flat.fc_in.load_state_dict(model.hidden[0].state_dict())
    flat.fc_out.load_state_dict(model.out.state_dict())
    u = torch.tanh(X @ torch.randn(2, 6, dtype=torch.float64) + 0.3)
    eta, gains, per_layer = expand.kfac_gains(flat, X, y, u, 1e-3, 2e-3)
    state = ed.kfac_state(model, X, y, 1e-3, 2e-3)
    assert torch.allclose(state.eta, per_layer, rtol=1e-10)
    assert torch.allclose(ed.feature_gains(state, 1, u.T[:, :, None]), gains, rtol=1e-8, atol=1e-14)


def test_kfac_gradient_is_the_autograd_gradient():
    model, (X, y) = net64((3, 4)), data64()
    state = ed.kfac_state(model, X, y, 1e-3, 0.0)
    F.cross_entropy(model(X), y).backward()
    for lin, g in zip(model.linears(), state.grads):
        assert torch.allclose(g, torch.cat([lin.weight.grad, lin.bias.grad[:, None]], 1), atol=1e-12)


def test_score_and_gains_vanish_with_the_gradient():
    model, (X, _) = net64((3, 4)), data64()
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.zero_()
    y_any = torch.zeros(len(X), dtype=torch.long)
    # zero gradient: one class only, and a readout whose softmax already puts (almost) all mass on it
    with torch.no_grad():
        model.out.bias[0] = 60.0
    state = ed.kfac_state(model, X, y_any, 1e-3, 0.0)
    assert state.eta.abs().max().item() < 1e-20
    feats = torch.tanh(torch.randn(5, len(X), 4, dtype=torch.float64))
    assert ed.feature_gains(state, 2, feats).abs().max().item() < 1e-20


def test_a_copy_of_an_existing_input_gains_nothing():
    model, (X, y) = net64((3, 4)), data64()
    state = ed.kfac_state(model, X, y, 1e-10, 0.0)
    inputs, _ = model.activations(X)
    copies = inputs[2].detach().T[:, :, None]                        # each input of the readout, again
    # (in the limit of no damping: the damping, relative to A's eigenvalues, is what a duplicate changes)
    assert ed.feature_gains(state, 2, copies).max().item() < 1e-6 * state.eta[2].item()
    assert ed.feature_gains(state, 2, 2.0 * copies).max().item() < 1e-6 * state.eta[2].item()
    assert ed.feature_gains(state, 1, torch.randn(4, len(X), 1, dtype=torch.float64)).min().item() >= 0.0
    with pytest.raises(ValueError):
        ed.feature_gains(state, 1, torch.randn(4, 3, 1, dtype=torch.float64))


# ----------------------------------------------------------------------------- growing
def test_train_deep_expanding_grows_preserves_and_is_deterministic():
    X, y = moons()
    config = ExpandConfig(max_steps=200, check_every=20, num_candidates=16, min_gain=0.002)
    m1, h1 = ed.train_deep_expanding(X, y, 2, config, seed=3, layer_cost=0.5)
    m2, h2 = ed.train_deep_expanding(X, y, 2, config, seed=3, layer_cost=0.5)
    assert h1.widths == h2.widths and h1.grew == h2.grew
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    assert sum(1 for g in h1.grew if g) >= 2 and len(h1.max_diff) == sum(1 for g in h1.grew if g)
    assert max(h1.max_diff) <= 1e-5                                   # float32 training, float64 check
    assert m1.depth <= 3 and all(w <= config.max_width for w in m1.widths)
    assert len(h1.step) == 10 and h1.events[0][0] == h1.step[h1.grew.index(h1.events[0][1])]


def test_train_deep_expanding_refuses_bad_arguments():
    X, y = moons(40)
    with pytest.raises(ValueError):
        ed.train_deep_expanding(X, y[:-1], 2)
    with pytest.raises(ValueError):
        ed.train_deep_expanding(X, y, 2, max_layers=0)
    with pytest.raises(ValueError):
        ed.train_deep_expanding(X, y, 2, layer_cost=0.0)
    with pytest.raises(ValueError):
        ed.sample_bases(X, 0, 1.0, torch.Generator())


def test_depth_is_chosen_when_width_is_capped():
    X, y = moons()
    config = ExpandConfig(max_steps=60, check_every=20, num_candidates=8, min_gain=0.0, tau=0.0, max_width=2)
    model, hist = ed.train_deep_expanding(X, y, 2, config, seed=0, start_widths=(2,), max_layers=2)
    assert model.depth == 2 and "depth" in hist.grew and "width" not in hist.grew
    assert torch.equal(model.alpha[0], torch.zeros(2)) and torch.equal(model.beta[0], torch.ones(2))  # tanh stays tanh
    assert model.free[1].all() and (model.beta[1] != 0).all()       # the inserted layer became non-linear


def test_a_layer_priced_per_unit_costs_its_width():
    model, (X, y) = net64((3,), classes=2), data64(classes=2)
    model = model.float()
    config = ExpandConfig(num_candidates=8)
    _, plain = ed.score_candidates(model, X.float(), y, config, torch.Generator().manual_seed(0), layer_cost=2.0)
    _, unit = ed.score_candidates(model, X.float(), y, config, torch.Generator().manual_seed(0), layer_cost=2.0,
                                  size_costing=True)
    (dp,), (du,) = [c for c in plain if c.kind == "depth"], [c for c in unit if c.kind == "depth"]
    assert du.gain == pytest.approx(dp.gain / 3) and torch.equal(du.w, dp.w)
    assert [c.gain for c in plain if c.kind == "width"] == [c.gain for c in unit if c.kind == "width"]
