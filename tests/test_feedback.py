"""HideHiddenTests, the feedback preprocessor, on small notebooks (the class test runs it for real)."""
from __future__ import annotations

import nbformat
from traitlets.config import Config

from genlab.course.feedback import HideHiddenTests, failing_line, hidden_lines

SOURCE = "\n".join([
    "check(f(1))",                 # 1
    "### BEGIN HIDDEN TESTS",      # 2
    "check(f(1000))  # secret",    # 3
    "### END HIDDEN TESTS",        # 4
    'print("passed")',             # 5
])


def _error_at(line: int) -> nbformat.NotebookNode:
    frame = f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line {line}\x1b[39m\n    check(f(1000))  # secret"
    return nbformat.v4.new_output("error", ename="CheckFailed", evalue="f of large x\n  hint:     scale first",
                                  traceback=["\x1b[31m----\x1b[39m", frame, "CheckFailed: f of large x"])


def _notebook(line: int) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(SOURCE, outputs=[_error_at(line)])
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_f", "points": 1, "locked": True,
                                 "solution": False, "schema_version": 3}
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("### BEGIN HIDDEN TESTS? no"), cell])


def test_hidden_lines_and_failing_line():
    assert hidden_lines(SOURCE) == {2, 3, 4}
    assert hidden_lines("x = 1") == set()
    assert failing_line(_error_at(3).traceback) == 3
    assert failing_line(["no frame here"]) is None


def test_failure_in_a_hidden_test_keeps_its_message_not_its_code():
    nb, _ = HideHiddenTests().preprocess(_notebook(3), {})
    cell = nb.cells[1]
    assert "secret" not in cell.source and "HIDDEN" not in cell.source
    assert cell.source.startswith("check(f(1))") and cell.source.endswith('print("passed")')
    (out,) = cell.outputs
    assert out.traceback[0] == "CheckFailed in a hidden test (its code is not shown):"
    assert "hint:     scale first" in out.traceback[1]
    assert not any("secret" in line for line in out.traceback)
    assert nb.cells[0].source == "### BEGIN HIDDEN TESTS? no"  # markdown is left alone


def test_failure_in_a_visible_test_is_labelled_visible():
    nb, _ = HideHiddenTests().preprocess(_notebook(1), {})
    assert nb.cells[1].outputs[0].traceback[0].startswith("CheckFailed in a visible test")


def test_disabled_leaves_the_notebook_as_it_was():
    pre = HideHiddenTests(config=Config({"HideHiddenTests": {"enabled": False}}))
    nb = pre(_notebook(3), {})[0]
    assert "secret" in nb.cells[1].source
    assert any("secret" in line for line in nb.cells[1].outputs[0].traceback)
