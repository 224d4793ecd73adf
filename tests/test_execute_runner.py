"""The execution runner itself: it measures the kernel's memory, and it reports failures."""
from __future__ import annotations

import nbformat
import pytest

from genlab.course.execute import Record, execute_notebook, format_table, update_report


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("SMOKE = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def test_peak_memory_is_the_kernels(tmp_path):
    nb = _notebook(tmp_path / "big.ipynb",
                   "import numpy as np\nblock = np.ones(400 * 2**20 // 8)\nprint(block.sum())")
    small = _notebook(tmp_path / "small.ipynb", "x = 1")
    big_record = execute_notebook(nb, tmp_path / "out" / "big.ipynb")
    small_record = execute_notebook(small, tmp_path / "out" / "small.ipynb")
    assert big_record.ok and small_record.ok
    assert big_record.peak_rss_mb - small_record.peak_rss_mb > 350  # the 400 MB block is seen
    assert small_record.peak_rss_mb < 300


def test_smoke_parameter_is_injected(tmp_path):
    nb = _notebook(tmp_path / "p.ipynb", "assert SMOKE is True, SMOKE")
    assert execute_notebook(nb, tmp_path / "out.ipynb", smoke=True).ok
    failed = execute_notebook(nb, tmp_path / "out.ipynb", smoke=False)
    assert not failed.ok and "AssertionError" in failed.error


def test_a_failing_cell_is_reported_with_its_error(tmp_path):
    nb = _notebook(tmp_path / "bad.ipynb", "raise ValueError('target missed')")
    record = execute_notebook(nb, tmp_path / "out.ipynb")
    assert not record.ok and "ValueError: target missed" in record.error


def test_report_merges_by_notebook_and_mode(tmp_path):
    path = tmp_path / "report.json"
    update_report(path, [Record("a.ipynb", False, 10.0, 500.0, True)])
    update_report(path, [Record("a.ipynb", True, 1.0, 400.0, True), Record("a.ipynb", False, 12.0, 510.0, True)])
    records = update_report(path, [])
    assert [(r.smoke, r.seconds) for r in records] == [(False, 12.0), (True, 1.0)]
    table = format_table(records)
    assert "a.ipynb" in table and "full" in table and "smoke" in table


@pytest.mark.parametrize("seconds, mb, ok", [(100, 900, True), (200, 900, False), (100, 1600, False)])
def test_target_verdict(seconds, mb, ok):
    assert Record("n", False, seconds, mb, True).within_target is ok
