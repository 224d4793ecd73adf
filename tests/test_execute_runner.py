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


def test_busy_condition_runs_one_hog_per_cpu_and_stops_them():
    import psutil

    from genlab.course.conditions import HOG, condition

    def hogs():
        return [p for p in psutil.Process().children() if HOG in " ".join(p.cmdline())]

    with condition("busy", 2) as cgroup:
        assert cgroup is None and len(hogs()) == 2
    assert hogs() == []
    with pytest.raises(ValueError, match="condition must be one of"):
        with condition("noisy", 2):
            pass


def test_binder_condition_is_a_cgroup_the_runtime_reads(tmp_path):
    """A child moved into the 'binder' cgroup sees 1 CPU of quota through runtime.cpu_quota."""
    import subprocess
    import sys

    from genlab.course.conditions import Cgroup, join_cgroup

    try:
        group = Cgroup(cpus=1.0, memory=2 * 1024 ** 3)
    except RuntimeError as err:
        pytest.skip(f"no writable cgroup file system here: {err}")
    try:
        out = subprocess.run([sys.executable, "-c", "from genlab import runtime; "
                              "print(runtime.cpu_quota(), runtime.usable_cpus(), runtime.thread_policy())"],
                             capture_output=True, text=True, preexec_fn=join_cgroup(group), check=True)
        assert out.stdout.split() == ["1.0", "1", "1"], out.stdout + out.stderr
    finally:
        group.remove()


def test_course_map_shows_the_three_conditions(root):
    from genlab.course import assignments
    from genlab.course.readme import course_map

    a = assignments(root)[0]
    name = str(a.notebooks[0].relative_to(root))
    table = course_map([a], [Record(name, False, 61.0, 500.0, True), Record(name, False, 95.0, 510.0, True, condition="busy")])
    row = table.splitlines()[2]
    assert "| 61 s | 0.49 GB | 95 s | not measured |" in row, row
