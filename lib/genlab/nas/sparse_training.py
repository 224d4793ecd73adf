"""Sparse training with ``torch.sparse`` weights. Introduced in 09_self_expanding.

A pruned layer only saves memory if its zeros are not stored, and during training that means
more than the weights: their gradients and the optimiser's state (two tensors per weight for
Adam) must be sparse too. ``SparseLinear`` holds its weight as a CSR tensor
(``torch.sparse_csr``) whose *values* are the trainable ``nn.Parameter`` (one number per kept
weight) and whose pattern (row pointers, column indices) is a fixed buffer, so weights,
gradients and Adam's moments are all nnz-sized. Its matrix products are PyTorch's sparse
kernels; the backward pass is written out (``_SparseMatmul``) because the built-in backward of a
sparse weight forms the dense ``(out, in)`` gradient and then masks it (measured: a 16 MB
allocation for a 2048 x 2048 layer at density 0.1), the very allocation sparse training avoids.
Here the gradient of the values is a *sampled* product (``torch.sparse.sampled_addmm``: the
entries of ``grad_out^T x`` at the pattern only) and the gradient of the input uses the
transposed pattern, stored once as a second CSR index plus a permutation of the values.

Memory per kept weight, float32 values with int32 indices (the default; int64 doubles the index
part): value, gradient, two Adam moments (16 bytes) plus a column index, a transposed column index
and a permutation entry (12 bytes) = 28 bytes, against 16 bytes per entry for a dense layer
(17 with the boolean mask of ``MaskedLinear``, the dense way to train a pruned layer). Sparse
training therefore pays off below a density of about 16/28 = 0.57 (counting these tensors only).
Per step on a CPU it is *slower* than the dense product near that density (dense kernels are
vectorised) and faster only well below it: in 09 (batch 128, 1024-wide layers) slower at
densities 0.5 and 0.3, faster at 0.1 and below.

Measuring a step (``held_bytes``, ``step_peak_bytes``, ``fine_tune``): the bytes *held* between steps (parameters, buffers,
optimiser state) are counted from the tensors themselves; the *peak of one step* on top of them
(gradients, activations, temporaries) is measured, on the CPU with ``torch.profiler`` and
``profile_memory=True``, which records every allocation and free of PyTorch's CPU allocator (we
take the running sum's maximum); on CUDA with ``torch.cuda.max_memory_allocated``. The profiler
does not see memory that bypasses PyTorch's allocator (oneDNN / MKL scratch buffers, Python
objects) or memory the C library keeps after a free, so it measures what the tensors need, not the
process's resident size. Peak RSS of a subprocess was tried and is too coarse for this: about
240 MB after importing torch, then 130-230 MB more over five training steps of a 2048-wide MLP
whatever its layers (kernels loaded lazily, thread pools, blocks the C library keeps), so RSS put
dense and CSR (density 0.1) training 43 MB apart where their tensors differ by 84 MB.
Step times are medians of wall-clock times, taken on the unprofiled steps.
"""
from __future__ import annotations

import contextlib
import copy
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .expand import magnitude_prune, tensor_bytes

INDEX_DTYPES = (torch.int32, torch.int64)


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "Sparse CSR tensor support is in beta state"
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


class _SparseMatmul(torch.autograd.Function):
    """``x W^T`` for a CSR weight ``W`` given by its pattern and values; gradients never dense."""

    @staticmethod
    def forward(ctx, x, values, crow, col, crow_t, col_t, perm, shape):   # noqa: D401 (autograd signature)
        ctx.save_for_backward(x, values, crow, col, crow_t, col_t, perm)
        ctx.shape = shape
        return (_csr(crow, col, values, shape) @ x.T).T

    @staticmethod
    def backward(ctx, grad_out):
        x, values, crow, col, crow_t, col_t, perm = ctx.saved_tensors
        rows, cols = ctx.shape
        grad_x = grad_values = None
        if ctx.needs_input_grad[0]:   # W^T grad_out^T, with W^T held as the transposed CSR pattern
            grad_x = (_csr(crow_t, col_t, values.detach()[perm], (cols, rows)) @ grad_out.T).T
        if ctx.needs_input_grad[1]:   # (grad_out^T x) at the pattern only: nnz numbers
            pattern = _csr(crow, col, values.detach(), (rows, cols))
            grad_values = torch.sparse.sampled_addmm(pattern, grad_out.T.contiguous(), x, beta=0.0).values()
        return grad_x, grad_values, None, None, None, None, None, None


class SparseLinear(nn.Module):
    """A linear layer ``y = x W^T + b`` whose weight is a CSR tensor with a fixed sparsity pattern.

    ``weight`` is a dense ``(out, in)`` tensor whose non-zeros (or a sparse tensor whose stored
    entries) give the pattern and the initial values. Trainable: ``values`` (nnz) and ``bias``;
    fixed buffers: ``crow``, ``col`` (W's CSR index) and ``crow_t``, ``col_t``, ``perm`` (W^T's,
    with ``W^T``'s values ``values[perm]``), all of ``index_dtype`` (int32 or int64).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 index_dtype: torch.dtype = torch.int32) -> None:
        super().__init__()
        if weight.ndim != 2:
            raise ValueError(f"weight must be a 2-D (out_features, in_features) tensor, got shape {tuple(weight.shape)}")
        if index_dtype not in INDEX_DTYPES:
            raise ValueError(f"index_dtype must be torch.int32 or torch.int64, got {index_dtype}")
        rows, cols = weight.shape
        if bias is not None and tuple(bias.shape) != (rows,):
            raise ValueError(f"bias must have shape ({rows},) for a weight of shape {(rows, cols)}, got {tuple(bias.shape)}")
        w = weight.detach().to_dense() if weight.layout != torch.strided else weight.detach()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            csr = w.to_sparse_csr()
        nnz = csr.values().numel()
        if index_dtype == torch.int32 and max(nnz, rows, cols) >= 2 ** 31:
            raise ValueError(f"{nnz} non-zeros do not fit int32 indices: use index_dtype=torch.int64")
        crow, col = csr.crow_indices(), csr.col_indices()
        row = torch.repeat_interleave(torch.arange(rows, device=w.device), crow.diff())
        perm = torch.argsort(col, stable=True)          # CSR order of W^T: by column, then row
        crow_t = torch.zeros(cols + 1, dtype=torch.int64, device=w.device)
        crow_t[1:] = torch.bincount(col, minlength=cols).cumsum(0)
        self.shape = (rows, cols)
        self.in_features, self.out_features = cols, rows
        for name, t in [("crow", crow), ("col", col), ("crow_t", crow_t), ("col_t", row[perm]), ("perm", perm)]:
            self.register_buffer(name, t.to(index_dtype).contiguous())
        self.values = nn.Parameter(csr.values().clone())
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None

    @classmethod
    def from_dense(cls, layer: nn.Linear, density: float, index_dtype: torch.dtype = torch.int32) -> "SparseLinear":
        """``layer`` pruned by magnitude (``expand.magnitude_prune``) to ``density`` and held sparse."""
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
        return cls(magnitude_prune(layer.weight, density), layer.bias, index_dtype)

    @property
    def nnz(self) -> int:
        return self.values.numel()

    @property
    def density(self) -> float:
        return self.nnz / max(1, self.shape[0] * self.shape[1])

    @property
    def weight(self) -> torch.Tensor:
        """The weight as a ``torch.sparse_csr`` tensor (its values are the trainable parameter)."""
        return _csr(self.crow, self.col, self.values, self.shape)

    def dense_weight(self) -> torch.Tensor:
        """The weight as a dense ``(out, in)`` tensor, for checks and plots."""
        return self.weight.detach().to_dense()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"expected inputs with {self.in_features} features, got shape {tuple(x.shape)}")
        flat = x.reshape(-1, self.in_features)
        y = _SparseMatmul.apply(flat, self.values, self.crow, self.col, self.crow_t, self.col_t, self.perm, self.shape)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.nnz}, density={self.density:.3f}"


class MaskedLinear(nn.Module):
    """The dense way to train a pruned layer: a dense weight multiplied by a fixed boolean mask."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        if weight.ndim != 2:
            raise ValueError(f"weight must be a 2-D (out_features, in_features) tensor, got shape {tuple(weight.shape)}")
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
        self.out_features, self.in_features = weight.shape
        self.weight = nn.Parameter(weight.detach().clone())
        self.register_buffer("mask", weight.detach() != 0)
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None

    @classmethod
    def from_dense(cls, layer: nn.Linear, density: float) -> "MaskedLinear":
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
        return cls(magnitude_prune(layer.weight, density), layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def sparsify(model: nn.Module, density: float, names: Sequence[str], masked: bool = False,
             index_dtype: torch.dtype = torch.int32) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` submodules ``names`` are pruned by magnitude to ``density``
    and held as ``SparseLinear`` (or, with ``masked=True``, as dense ``MaskedLinear``)."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if not names:
        raise ValueError("names must list at least one nn.Linear submodule to sparsify")
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    for name in names:
        layer = modules.get(name)
        if not isinstance(layer, nn.Linear):
            raise ValueError(f"{name!r} is not an nn.Linear of the model (found {type(layer).__name__})")
        new = MaskedLinear.from_dense(layer, density) if masked else SparseLinear.from_dense(layer, density, index_dtype)
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else out, child, new)
    return out


def held_bytes(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Bytes of the tensors a model holds between training steps: parameters, buffers, optimiser state."""
    tensors = list(model.parameters()) + list(model.buffers())
    if optimizer is not None:
        tensors += [t for state in optimizer.state.values() for t in state.values() if torch.is_tensor(t)]
    return sum(tensor_bytes(t) for t in tensors)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (the profiler's C++ library logs its start and stop there)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> float:
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_peak_bytes(model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> int:
    """Run one training step (gradients set to None first) and return the peak of the bytes it allocated
    on top of what was already held (gradients, activations, temporaries), measured."""
    optimizer.zero_grad(set_to_none=True)
    if X.device.type == "cuda":
        torch.cuda.synchronize(X.device)
        torch.cuda.reset_peak_memory_stats(X.device)
        base = torch.cuda.memory_allocated(X.device)
        _train_step(model, optimizer, X, y)
        torch.cuda.synchronize(X.device)
        return torch.cuda.max_memory_allocated(X.device) - base
    from torch.profiler import ProfilerActivity, profile
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _train_step(model, optimizer, X, y)
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    running = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        running += e.nbytes()
        peak = max(peak, running)
    return peak


@dataclass
class StepCost:
    """What one training step of a model costs: memory held and at the step's peak, and wall time."""
    held_bytes: int            # parameters, buffers and optimiser state, counted from the tensors
    step_bytes: int            # the step's own peak on top (gradients, activations, temporaries), measured
    step_seconds: float        # median wall time of the unprofiled steps
    losses: list[float] = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        return self.held_bytes + self.step_bytes


def fine_tune(model: nn.Module, X: torch.Tensor, y: torch.Tensor, steps: int, lr: float = 1e-3,
              batch_size: int = 128, seed: int = 0, profile_step: int = 2) -> StepCost:
    """Train ``model`` in place with Adam for ``steps`` mini-batch steps and measure a step's cost.

    Batches are drawn from a generator seeded with ``seed``, so a sparse and a masked copy of the same
    network see the same batches. Step ``profile_step`` (after Adam's state exists) is measured for
    memory; the others are timed.
    """
    if steps < profile_step + 2:
        raise ValueError(f"steps must be at least profile_step + 2 = {profile_step + 2}, got {steps}")
    if not 0 < batch_size <= len(X):
        raise ValueError(f"batch_size must be in [1, {len(X)}], got {batch_size}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    times, losses, step_bytes, held = [], [], 0, 0
    for step in range(steps):
        idx = torch.randint(len(X), (batch_size,), generator=gen).to(X.device)
        xb, yb = X[idx], y[idx]
        if step == profile_step:
            held = held_bytes(model, optimizer)
            step_bytes = step_peak_bytes(model, optimizer, xb, yb)
            continue
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        losses.append(_train_step(model, optimizer, xb, yb))
        if step > profile_step:
            times.append(time.perf_counter() - t0)
    model.eval()
    return StepCost(held, step_bytes, statistics.median(times), losses)
