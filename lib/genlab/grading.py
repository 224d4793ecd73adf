"""Checks that test cells call: each failure says what was expected, what came back, and a hint.

Introduced in 00_orientation ("how to read a failing test"). A failed check raises
``CheckFailed`` (an ``AssertionError``), which nbgrader scores as a failed test cell.

A failed check shows the learner its message and the line of their test cell that failed,
not a traceback into this file: IPython renders an exception through its
``_render_traceback_`` method when it has one (``CheckFailed`` does). The line is written as
IPython writes it ("Cell In[12], line 7"), so nbgrader's feedback (``genlab.course.feedback``)
can still tell a visible test from a hidden one. Every function here also sets
``__tracebackhide__`` for pytest.
"""
from __future__ import annotations

import copy
import linecache
from typing import Any, Callable, Sequence

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A test cell's check did not hold. The message is written for the learner."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message, then the failing line of the
        notebook cell that called the check (the outermost cell frame, as IPython names it)."""
        lines = [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]
        cell = _cell_frame(self.__traceback__)
        if cell is not None:
            lines += ["", cell]
        return lines


def _cell_frame(tb: Any) -> str | None:
    """'Cell In[N], line L:  <source>' for the first traceback frame that is a notebook cell."""
    try:
        from IPython import get_ipython
        names = getattr(getattr(get_ipython(), "compile", None), "_filename_map", {})
    except ImportError:  # not under IPython: nothing to point at
        return None
    while tb is not None:
        filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        if filename in names:
            code = linecache.getline(filename, line).strip()
            return f"Cell In[{names[filename]}], line {line}:  {code}"
        tb = tb.tb_next
    return None


def _fail(what: str, expected: str, got: str, hint: str | None) -> None:
    __tracebackhide__ = True
    lines = [f"{what}", f"  expected: {expected}", f"  got:      {got}"] + ([f"  hint:     {hint}"] if hint else [])
    # The message below says what was checked, what was expected, what came back, and a hint.
    raise CheckFailed("\n".join(lines))


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def _short(a: np.ndarray) -> str:
    return np.array2string(a, precision=5, threshold=8, edgeitems=2).replace("\n", " ")


def check_type(got: Any, expected: type | tuple[type, ...], *, name: str = "result",
               hint: str | None = None) -> None:
    """Check that ``got`` is an instance of ``expected``."""
    __tracebackhide__ = True
    if not isinstance(got, expected):
        names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        _fail(f"{name} has the wrong type", names, type(got).__name__,
              hint or "did the function reach its return statement? (None means it returned nothing)")


def check_shape(got: Any, expected: Sequence[int], *, name: str = "result",
                hint: str | None = None) -> None:
    """Check a tensor's or array's shape."""
    __tracebackhide__ = True
    if not hasattr(got, "shape"):
        _fail(f"{name} has no shape", f"an array or tensor of shape {tuple(expected)}",
              type(got).__name__, hint or "return a tensor, not a Python number or list")
    if tuple(got.shape) != tuple(expected):
        _fail(f"{name} has the wrong shape", str(tuple(expected)), str(tuple(got.shape)),
              hint or "check which axis you reduced over, and keepdim")


def check_close(got: Any, expected: Any, *, name: str = "result", atol: float = 1e-6,
                rtol: float = 1e-5, hint: str | None = None) -> None:
    """Check that ``got`` equals ``expected`` element-wise within ``atol + rtol*|expected|``.

    Numbers, NumPy arrays and tensors are all accepted; shapes must match exactly
    (no silent broadcasting), and NaN or infinity in ``got`` is reported as such.
    """
    __tracebackhide__ = True
    if got is None:
        _fail(f"{name} is None", "a value", "None", hint or "did you forget `return`?")
    g, e = _as_array(got), _as_array(expected)
    if g.shape != e.shape:
        _fail(f"{name} has the wrong shape", str(e.shape), str(g.shape),
              hint or "check which axis you reduced over, and keepdim")
    bad = ~np.isfinite(g) & np.isfinite(e)
    if bad.any():
        _fail(f"{name} contains NaN or infinity", _short(e), _short(g),
              hint or "look for exp() of a large number or log() of zero")
    if not np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        diff = np.abs(g - e)
        diff = np.where(np.isnan(diff), np.inf, diff)
        worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        where = f" (largest difference {float(diff[worst]):.3g} at index {tuple(int(i) for i in worst)})" \
            if diff.ndim else f" (difference {float(diff):.3g})"
        _fail(f"{name} is not close enough to the reference{where}", _short(e), _short(g), hint)


def check_true(condition: bool, what: str, *, expected: str = "True", got: str = "False",
               hint: str | None = None) -> None:
    """Check a condition that has no reference value, with a teaching message."""
    __tracebackhide__ = True
    if not bool(condition):
        _fail(what, expected, got, hint)


def check_raises(fn: Callable[..., Any], exception: type[BaseException], *args: Any,
                 hint: str | None = None, **kwargs: Any) -> None:
    """Check that ``fn(*args, **kwargs)`` raises ``exception``."""
    __tracebackhide__ = True
    try:
        fn(*args, **kwargs)
    except exception:
        return
    except Exception as err:  # a different error is still a wrong answer, and worth naming
        _fail(f"{getattr(fn, '__name__', 'function')} raised the wrong error",
              exception.__name__, f"{type(err).__name__}: {err}", hint)
    _fail(f"{getattr(fn, '__name__', 'function')} did not raise", exception.__name__,
          "no error", hint)


def _copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    return copy.deepcopy(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype \
            and torch.equal(torch.nan_to_num(a.detach()), torch.nan_to_num(b.detach())) \
            and torch.equal(a.detach().isnan(), b.detach().isnan())
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, torch.nn.Module):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(_same(sa[k], sb[k]) for k in sa)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # an object without a usable ==: nothing to compare
        return True


def call_on_copies(fn: Callable[..., Any], *args: Any, name: str | None = None,
                   hint: str | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` called on copies of its arguments; fails if it changed any of them.

    Introduced in 00_orientation: a function that shifts its input in place (``x -= m``)
    can return the right answer and still break the caller, whose tensor changed under it.
    Checking the result alone misses that (the reference is then computed on the changed
    input), so hidden tests call the learner's function through this helper. Returns the result.
    """
    __tracebackhide__ = True
    name = name or getattr(fn, "__name__", "the function")
    copies, kwcopies = [_copy(a) for a in args], {k: _copy(v) for k, v in kwargs.items()}
    result = fn(*copies, **kwcopies)
    changed = [f"argument {i + 1}" for i, (a, c) in enumerate(zip(args, copies)) if not _same(a, c)]
    changed += [f"argument {k}=" for k, v in kwargs.items() if not _same(v, kwcopies[k])]
    if changed:
        _fail(f"{name} modified its input in place ({', '.join(changed)})", "the inputs left unchanged",
              "changed after the call", hint or "the caller still needs its tensor: write `x = x - m`, "
              "not `x -= m` (and avoid methods ending in _ such as add_ on inputs)")
    return result


def learner_or_reference(mine: Callable[..., Any], reference: Callable[..., Any],
                         check: Callable[[Callable[..., Any]], None], *, name: str) -> Callable[..., Any]:
    """``mine`` when ``check(mine)`` passes, else ``reference``; prints which one runs.

    Introduced in 00_orientation: the learner's code drives the notebook's experiments, and an
    unfinished or wrong exercise falls back to the library's reference so the notebook runs
    on. ``check`` raises on a wrong candidate (usually a few ``check_close`` calls against the
    reference on fixed inputs); it is a quick check, not the graded test.
    """
    try:
        check(mine)
    except NotImplementedError:
        print(f"{name}: not written yet; the experiments below use the library's reference.")
        return reference
    except Exception as err:  # any error: a wrong answer must not stop the experiments
        first = (str(err).strip().splitlines() or [""])[0]
        if not isinstance(err, CheckFailed):   # a crash: name the error, as a traceback would
            first = f"{type(err).__name__}: {first}"
        print(f"{name}: yours fails a quick check ({first}); the experiments below use the "
              "library's reference.")
        return reference
    print(f"{name}: yours passes the check; the experiments below use it.")
    return mine
