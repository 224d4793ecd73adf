import numpy as np
import pytest
import torch

from genlab import grading
from genlab.grading import (CheckFailed, check_close, check_raises, check_shape, check_true, check_type,
                            learner_or_reference)


def test_check_close_accepts_close_values_of_any_kind():
    check_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-8]))
    check_close(0.1 + 0.2, 0.3)
    check_close(torch.tensor([float("-inf"), 0.0]), torch.tensor([float("-inf"), 0.0]))


def test_check_close_failure_teaches():
    with pytest.raises(CheckFailed) as err:
        check_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]), name="probs", hint="look at row 2")
    text = str(err.value)
    assert "probs" in text and "expected: [1. 2.]" in text and "got:      [1.  2.5]" in text
    assert "hint:     look at row 2" in text and "index (1,)" in text
    assert isinstance(err.value, AssertionError)  # nbgrader scores any AssertionError as a failed test


@pytest.mark.parametrize("got, fragment", [
    (torch.tensor([1.0, 2.0, 3.0]), "wrong shape"),
    (torch.tensor([float("nan"), 1.0]), "NaN or infinity"),
    (None, "forget `return`"),
])
def test_check_close_names_the_kind_of_mistake(got, fragment):
    with pytest.raises(CheckFailed, match=fragment.replace("(", r"\(").replace("`", "`")):
        check_close(got, torch.tensor([0.0, 1.0]))


def test_check_shape_and_type():
    check_shape(torch.zeros(2, 3), (2, 3))
    with pytest.raises(CheckFailed, match=r"expected: \(2, 3\)"):
        check_shape(torch.zeros(3, 2), (2, 3))
    with pytest.raises(CheckFailed, match="no shape"):
        check_shape(3.0, (1,))
    check_type(1.0, float)
    with pytest.raises(CheckFailed, match="NoneType"):
        check_type(None, (int, float))


def test_check_true_and_check_raises():
    check_true(True, "fine")
    with pytest.raises(CheckFailed, match="expected: >= 0.9"):
        check_true(False, "accuracy", expected=">= 0.9", got="0.5")
    check_raises(lambda: 1 / 0, ZeroDivisionError)
    with pytest.raises(CheckFailed, match="did not raise"):
        check_raises(lambda: 1, ValueError)
    with pytest.raises(CheckFailed, match="wrong error"):
        check_raises(lambda: 1 / 0, ValueError)


def test_learner_or_reference_picks_a_passing_answer_and_falls_back_otherwise(capsys):
    def reference(x):
        return 2 * x

    def check(f):
        check_close(f(torch.tensor([1.0, 3.0])), torch.tensor([2.0, 6.0]))

    def mine(x):
        return x + x

    def wrong(x):
        return x * x

    def blank(x):
        raise NotImplementedError()

    def broken(x):
        return x.nonexistent

    assert learner_or_reference(mine, reference, check, name="double") is mine
    assert "yours passes" in capsys.readouterr().out
    assert learner_or_reference(wrong, reference, check, name="double") is reference
    assert "fails a quick check (result is not close enough" in capsys.readouterr().out
    assert learner_or_reference(blank, reference, check, name="double") is reference
    assert "not written yet" in capsys.readouterr().out
    assert learner_or_reference(broken, reference, check, name="double") is reference
    assert "(AttributeError: 'Tensor' object has no attribute 'nonexistent')" in capsys.readouterr().out


def test_call_on_copies_returns_the_result_and_catches_inputs_changed_in_place():
    def shift_in_place(x):
        x -= x.amax(dim=-1, keepdim=True)
        return x

    def shift(x):
        return x - x.amax(dim=-1, keepdim=True)

    x = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    before = x.clone()
    out = grading.call_on_copies(shift, x)
    assert torch.equal(out, before - before.amax(dim=-1, keepdim=True))
    with pytest.raises(grading.CheckFailed, match=r"shift_in_place modified its input in place \(argument 1\)"):
        grading.call_on_copies(shift_in_place, x)
    assert torch.equal(x, before), "the caller's tensor is never touched, even by a wrong answer"
    with pytest.raises(grading.CheckFailed, match=r"argument w="):
        grading.call_on_copies(lambda w: w.mul_(2), w=torch.ones(3))
    module = torch.nn.Linear(2, 2)
    with pytest.raises(grading.CheckFailed, match="modified its input"):
        grading.call_on_copies(lambda m: m.weight.data.zero_(), module)
    grading.call_on_copies(lambda a, b: a + b, np.ones(2), [1, 2])   # unchanged: no failure


def test_a_failed_check_renders_as_its_message_and_the_cell_line_in_ipython():
    """IPython shows CheckFailed as the message plus 'Cell In[N], line L' (what feedback.failing_line
    reads), not a traceback into genlab/grading.py."""
    from IPython.core.interactiveshell import InteractiveShell

    from genlab.course.feedback import failing_line

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"    # nothing written, nothing left at exit
    shell = InteractiveShell.instance(config=config)
    shown = []
    shell._showtraceback = lambda etype, value, stb: shown.append(stb)
    try:
        shell.run_cell("from genlab.grading import check_close\nx = 1\ncheck_close(2.0, 1.0, name='y', hint='add one')",
                       store_history=True)
    finally:
        InteractiveShell.clear_instance()
    assert len(shown) == 1
    text = "\n".join(shown[0])
    assert "y is not close enough to the reference" in text and "hint:     add one" in text
    assert "grading.py" not in text and "_fail" not in text
    assert failing_line(shown[0]) == 3
