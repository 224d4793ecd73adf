"""Feedback that keeps hidden tests hidden, so an assignment can be given again next year.

nbgrader's ``generate_feedback`` renders the *autograded* notebook, whose test cells hold the
hidden tests again (autograde restores them), and whose error outputs quote the failing line
and its neighbours. :class:`HideHiddenTests` runs inside ``generate_feedback`` (see
``nbgrader_config.py``) and, in every cell with a hidden-test region:

- removes the region from the cell, as the learner's copy has it;
- replaces a failure's traceback (which quotes code) with its message alone: which check
  failed, expected / got and the hint, as ``genlab.grading`` writes them, and whether the
  failing line was a visible or a hidden test.

Scores are not touched: they come from the gradebook. An instructor who wants learners to see
the hidden tests sets ``c.HideHiddenTests.enabled = False`` (README, instructor guide).
"""
from __future__ import annotations

import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"Cell In\[\d*\], line (\d+)")


def hidden_lines(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> set[int]:
    """1-based numbers of the lines inside hidden-test regions, markers included."""
    hidden, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
    return hidden


def failing_line(traceback: list[str]) -> int | None:
    """The line of the cell itself where an IPython traceback says the error was raised."""
    for frame in traceback:
        match = _CELL_LINE.search(_ANSI.sub("", frame))
        if match:
            return int(match.group(1))
    return None


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden tests, and the tracebacks that quote them, from feedback."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code":
            return cell, resources
        hidden = hidden_lines(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if hidden:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    where = "a hidden test" if failing_line(output.traceback) in hidden else "a visible test"
                    output.traceback = [f"{output.ename} in {where} (its code is not shown):",
                                        f"{output.ename}: {output.evalue}"]
        return cell, resources
