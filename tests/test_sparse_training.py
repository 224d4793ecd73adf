"""genlab.nas.sparse_training: training with torch.sparse weights (09_self_expanding)."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.nas import expand
from genlab.nas.sparse_training import (MaskedLinear, SparseLinear, fine_tune, held_bytes, sparsify,
                                        step_peak_bytes)


def layer(out: int = 40, inp: int = 30, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(inp, out)


def mlp(width: int = 48, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 3))


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("density", [0.05, 0.3, 1.0])
def test_forward_equals_dense_masked_layer(density, index_dtype):
    dense = layer()
    sparse = SparseLinear.from_dense(dense, density, index_dtype)
    pruned = expand.magnitude_prune(dense.weight, density)
    x = torch.randn(7, 5, 30)
    assert sparse.weight.layout == torch.sparse_csr
    assert sparse.crow.dtype == index_dtype and sparse.nnz == int((pruned != 0).sum())
    assert torch.equal(sparse.dense_weight(), pruned.detach())
    assert torch.allclose(sparse(x), F.linear(x, pruned, dense.bias), atol=1e-5)
    assert sparse(x).shape == (7, 5, 40)


def test_gradients_are_the_dense_gradient_at_the_kept_entries():
    dense = layer(seed=1)
    sparse, masked = SparseLinear.from_dense(dense, 0.25), MaskedLinear.from_dense(dense, 0.25)
    x = torch.randn(9, 30, dtype=torch.float32)
    xs, xm = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(9, 40)
    (sparse(xs) * g).sum().backward()
    (masked(xm) * g).sum().backward()
    assert sparse.values.grad.shape == (sparse.nnz,)                      # nnz-sized, not (40, 30)
    assert torch.allclose(sparse.values.grad, masked.weight.grad[masked.mask], atol=1e-5)
    assert torch.allclose(xs.grad, xm.grad, atol=1e-5)
    assert torch.allclose(sparse.bias.grad, masked.bias.grad)


def test_gradcheck_float64():
    sparse = SparseLinear.from_dense(layer(12, 9, seed=2).double(), 0.4)
    x = torch.randn(4, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: sparse(inp), (x,))
    assert torch.autograd.gradcheck(lambda v: torch.func.functional_call(
        sparse, {"values": v}, (x.detach(),)), (sparse.values.detach().clone().requires_grad_(),))


def test_training_keeps_the_pattern_and_follows_the_masked_dense_trajectory():
    X, y = torch.randn(200, 16, generator=torch.Generator().manual_seed(0)), torch.randint(3, (200,))
    base = mlp()
    sparse = sparsify(base, 0.2, ["0", "2"])
    masked = sparsify(base, 0.2, ["0", "2"], masked=True)
    pattern = {k: v.clone() for k, v in sparse.named_buffers()}
    before = sparse[2].dense_weight()
    fine_tune(sparse, X, y, steps=12, batch_size=32, seed=3)
    fine_tune(masked, X, y, steps=12, batch_size=32, seed=3)
    for k, v in sparse.named_buffers():
        assert torch.equal(v, pattern[k]), f"pattern buffer {k} changed"
    after = sparse[2].dense_weight()
    assert torch.equal(after != 0, before != 0) and not torch.equal(after, before)
    assert torch.allclose(after, masked[2].weight * masked[2].mask, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(sparse(X), masked(X), atol=1e-4)
    assert isinstance(sparse[4], nn.Linear) and isinstance(base[2], nn.Linear)    # unnamed layers and the original untouched


def test_profiler_sees_a_known_allocation():
    class Wasteful(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            big = torch.ones(1_000_000)                       # 4 MB, freed before the step ends
            return self.fc(x) + big[:1].sum() * 0

    model = Wasteful()
    opt = torch.optim.Adam(model.parameters())
    peak = step_peak_bytes(model, opt, torch.randn(8, 4), torch.randint(2, (8,)))
    assert 4_000_000 <= peak < 4_200_000


def test_sparse_step_uses_less_memory_than_dense_at_low_density():
    torch.manual_seed(0)
    X, y = torch.randn(64, 512), torch.randint(10, (64,))
    dense = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    sparse = sparsify(dense, 0.05, ["0"])
    weight_bytes = 512 * 512 * 4
    cost = {}
    for name, model in [("dense", dense), ("sparse", sparse)]:
        opt = torch.optim.Adam(model.parameters())
        step_peak_bytes(model, opt, X, y)                    # creates Adam's state
        step = step_peak_bytes(model, opt, X, y)
        cost[name] = (held_bytes(model, opt), step)
    # no dense-sized gradient or temporary: the whole step of the sparse layer stays under one dense weight
    assert cost["sparse"][1] < 0.5 * weight_bytes, cost
    assert cost["dense"][1] >= weight_bytes, cost           # the dense step holds at least its weight gradient
    assert sum(cost["sparse"]) < 0.25 * sum(cost["dense"]), cost
    # held bytes per kept weight: value + 2 Adam moments (12) + col, col_t, perm (12) with int32 indices
    nnz = sparse[0].nnz
    assert held_bytes(sparse[0]) + 2 * 4 * nnz == pytest.approx(24 * nnz, rel=0.02)


def test_fine_tune_reports_cost_and_learns():
    X = torch.randn(300, 16, generator=torch.Generator().manual_seed(1))
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    model = sparsify(mlp(), 0.3, ["2"])
    cost = fine_tune(model, X, y, steps=60, batch_size=64, lr=3e-3, seed=0)
    assert cost.held_bytes > 0 and cost.step_bytes > 0 and cost.step_seconds > 0
    assert cost.peak_bytes == cost.held_bytes + cost.step_bytes
    assert cost.losses[-1] < cost.losses[0]
    assert not model.training


def test_value_errors():
    with pytest.raises(ValueError, match="density must be in"):
        SparseLinear.from_dense(layer(), 1.5)
    with pytest.raises(ValueError, match="2-D"):
        SparseLinear(torch.ones(3, 4, 5))
    with pytest.raises(ValueError, match="bias must have shape"):
        SparseLinear(torch.ones(3, 4), torch.ones(4))
    with pytest.raises(ValueError, match="index_dtype"):
        SparseLinear(torch.ones(3, 4), index_dtype=torch.int16)
    with pytest.raises(ValueError, match="nn.Linear"):
        SparseLinear.from_dense(nn.Conv1d(2, 2, 1), 0.5)
    with pytest.raises(ValueError, match="expected inputs with 30 features"):
        SparseLinear.from_dense(layer(), 0.5)(torch.ones(2, 29))
    with pytest.raises(ValueError, match="density must be in"):
        sparsify(mlp(), 0.0, ["0"])
    with pytest.raises(ValueError, match="'1' is not an nn.Linear"):
        sparsify(mlp(), 0.5, ["1"])
    with pytest.raises(ValueError, match="at least one"):
        sparsify(mlp(), 0.5, [])
    with pytest.raises(ValueError, match="steps must be at least"):
        fine_tune(mlp(), torch.ones(10, 16), torch.zeros(10, dtype=torch.long), steps=3)
    with pytest.raises(ValueError, match="batch_size"):
        fine_tune(mlp(), torch.ones(10, 16), torch.zeros(10, dtype=torch.long), steps=10, batch_size=11)
    with pytest.raises(ValueError, match="lr must be positive"):
        fine_tune(mlp(), torch.ones(10, 16), torch.zeros(10, dtype=torch.long), steps=10, batch_size=4, lr=0)
    assert copy.deepcopy(SparseLinear.from_dense(layer(), 0.5)).nnz == 600
