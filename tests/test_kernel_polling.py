"""Widget cells cannot hang notebook execution (genlab.course.kernel_polling).

Without the slice polling, papermill hung in 11 of 14 runs of the widget notebook below with
150 cells (nbclient issue #312: a lost ZeroMQ wake-up while nbclient updates an Output widget);
the test uses 300, so it fails almost surely when the fix is missing.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest

from genlab.course import kernel_polling
from genlab.course.execute import execute_notebook

ROOT = Path(__file__).resolve().parents[1]

WIDGET_CELL = """out = widgets.Output()
dd = widgets.Dropdown(options=list("abcde"), value="a")
def show(_=None):
    with out:
        out.clear_output(wait=True)
        print("value", dd.value, {i})
dd.observe(show, names="value")
show()
display(widgets.VBox([dd, out]))"""


@pytest.mark.notebook
def test_a_notebook_of_output_widgets_runs_to_the_end(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import ipywidgets as widgets\nfrom IPython.display import display"))
    nb.cells += [nbformat.v4.new_code_cell(WIDGET_CELL.format(i=i)) for i in range(300)]
    nb.cells.append(nbformat.v4.new_code_cell("SMOKE = False", metadata={"tags": ["parameters"]}))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "widgets.ipynb"
    nbformat.write(nb, source)

    record = execute_notebook(source, tmp_path / "out.ipynb")
    assert record.ok, f"the widget notebook did not finish: {record.error}"
    assert record.seconds < 120, f"300 widget cells took {record.seconds} s (a lost wake-up costs 0.1 s)"
    done = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert sum(bool(c.get("outputs")) for c in done.cells) >= 300


class _FakeChannel:
    """Stands in for the socket: a message becomes ready ``ready_after`` seconds from now."""

    def __init__(self, ready_after: float | None):
        self.ready_at = None if ready_after is None else time.monotonic() + ready_after
        self.polls: list[float | None] = []


async def _fake_get_msg(self: _FakeChannel, timeout: float | None = None):
    self.polls.append(timeout)
    if self.ready_at is not None and time.monotonic() >= self.ready_at:
        return {"msg": "reply"}
    await asyncio.sleep(timeout or 0)
    raise Empty


def test_slices_keep_the_callers_timeout(monkeypatch):
    monkeypatch.setattr(kernel_polling, "_original_get_msg", _fake_get_msg)

    chan = _FakeChannel(ready_after=0.25)             # no timeout: waits, in slices, for the reply
    assert asyncio.run(kernel_polling.get_msg(chan)) == {"msg": "reply"}
    assert all(p is not None and p <= kernel_polling.SLICE for p in chan.polls)

    chan = _FakeChannel(ready_after=None)             # a timeout still raises Empty on time
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(kernel_polling.get_msg(chan, timeout=0.35))
    assert 0.3 <= time.monotonic() - start < 1.0

    chan = _FakeChannel(ready_after=None)             # timeout 0 is one immediate poll
    with pytest.raises(Empty):
        asyncio.run(kernel_polling.get_msg(chan, timeout=0))
    assert chan.polls == [0.0]


def test_nbgrader_config_installs_it():
    from jupyter_client.channels import AsyncZMQSocketChannel
    from traitlets.config import Config

    original = kernel_polling._original_get_msg
    AsyncZMQSocketChannel.get_msg = original
    assert not kernel_polling.installed()
    config = Config()
    exec(compile((ROOT / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec"),
         {"get_config": lambda: config})
    assert kernel_polling.installed(), "nbgrader_config.py must call kernel_polling.install()"
