"""00_orientation in JupyterLab, in a real browser, as a learner meets it (issue 3).

``make lab`` serves a copy of ``course/00_orientation`` (the page saves the notebook, and
course/ is generated, never edited); Playwright drives Debian's headless Chromium — no
browser download. What a learner sees is asserted step by step, with a screenshot per step
in ``reports/browser/``:

1. the notebook opens and its kernel starts; nbgrader's Validate button, pressed before any
   work, lists the failing test cell;
2. a plausible wrong ``log_softmax`` typed into the page makes the visible test fail with
   genlab's teaching message (expected / got), the grading library's frames hidden;
3. the right answer typed in makes the same test pass;
4. with ``cross_entropy`` filled in too, Run All Cells runs the notebook (SMOKE) and the
   temperature widget renders and responds to the keyboard;
5. with the reflection questions answered, Validate reports success.
"""
from __future__ import annotations

import os
import shutil

import pytest

from labserver import ROOT, make_lab

pytestmark = pytest.mark.realuse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "reports" / "browser"
NOTEBOOK = "00_orientation/00_orientation.ipynb"
# Flags for a headless Chromium on a machine without sandbox, GPU or internet.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]

WRONG = "def log_softmax(x, dim=-1):\n    return x - x.max(dim=dim, keepdim=True).values\n"
RIGHT = ("def log_softmax(x, dim=-1):\n    m = x.max(dim=dim, keepdim=True).values\n"
         "    return x - m - torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))\n")
CROSS_ENTROPY = ("def cross_entropy(logits, y):\n"
                 "    return -log_softmax(logits, dim=-1)[torch.arange(len(y)), y].mean()\n")
TRAIN_STEP = ("def train_step(model, loss_fn, optimizer, batch):\n    model.train()\n"
              "    loss = loss_fn(model, batch)\n    optimizer.zero_grad()\n    loss.backward()\n"
              "    optimizer.step()\n    return loss.item()\n")

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("no chromium: 'make test' installs it as root; or apt-get install chromium",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
MINUTE = 60_000  # Playwright timeouts are in milliseconds


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(ROOT / "course" / "00_orientation", root / "00_orientation")
    env = dict(os.environ, GENLAB_SMOKE="1")  # the kernel's experiments run small
    with make_lab(tmp_path_factory.mktemp("lab-log") / "lab.log", lab_root=root, env=env) as server:
        server.root = root
        yield server


@pytest.fixture(scope="module")
def page(lab):
    assert CHROMIUM, "chromium is missing: `make test` installs Debian's chromium when run as root"
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(MINUTE)
        # what the page logs as an error: a failing JupyterLab extension shows up here (catboost and
        # plotly install their own extensions next to nbgrader's and ipywidgets')
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda err: page.console_errors.append(f"uncaught: {err}"))
        try:
            yield page
        finally:
            page.screenshot(path=SHOTS / "last.png")
            browser.close()


def code_cell(page, text: str):
    """The notebook's code cell whose input contains ``text``."""
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell")
    return cells.filter(has=page.locator(".jp-InputArea", has_text=text)).first


def type_into(page, cell, code: str) -> None:
    """Replace a cell's code as a learner would: click in, select all, type."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


def run_cell(page, cell) -> str:
    """Ctrl+Enter in the cell; wait for its prompt to show an execution count; its output."""
    before = cell.locator(".jp-InputPrompt").inner_text()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "([el, before]) => /\\[\\d+\\]/.test(el.innerText) && el.innerText !== before",
        arg=[cell.locator(".jp-InputPrompt").element_handle(), before])
    return cell.locator(".jp-Cell-outputArea").inner_text()


def validate(page) -> str:
    """Press nbgrader's Validate button; the verdict dialog's text (dialog closed again)."""
    page.locator(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent", has_text="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    page.wait_for_function("() => !document.querySelector('.jp-Dialog')?.innerText.includes('Validating')",
                           timeout=3 * MINUTE)
    text = dialog.inner_text()
    return text


def close_dialog(page) -> None:
    page.locator(".jp-Dialog button", has_text="Ok").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_a_learner_works_through_00_orientation_in_jupyterlab(lab, page):
    # 1. Open the notebook; the kernel starts; Validate lists the unanswered test.
    page.goto(lab.url(f"/lab/tree/{NOTEBOOK}") + "&reset")
    page.wait_for_selector("#jp-main-statusbar >> text=Idle")
    assert page.locator(".jp-NotebookPanel .jp-Cell").count() > 20
    page.wait_for_timeout(2000)  # JupyterLab's news question, if any, pops up within a second
    assert not page.get_by_text("official Jupyter news").count(), "an offline course asks for no news feed"
    page.screenshot(path=SHOTS / "1-opened.png")
    verdict = validate(page)
    page.screenshot(path=SHOTS / "1-validate-unanswered.png")
    assert "The following cell failed" in verdict and "NotImplementedError" in verdict, verdict[:500]
    close_dialog(page)

    # 2. A plausible wrong answer: the visible test fails with its teaching message.
    solution, test = code_cell(page, "def log_softmax"), code_cell(page, "log_softmax: visible tests passed")
    run_cell(page, code_cell(page, "from genlab.runtime import smoke_mode"))
    run_cell(page, code_cell(page, "import inspect"))
    type_into(page, solution, WRONG)
    run_cell(page, solution)
    output = run_cell(page, test)
    test.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "2-failing-test.png")
    assert "CheckFailed: log_softmax([1, 2, 3]) is not close enough to the reference" in output, output
    assert "expected: [-2.40761 -1.40761 -0.40761]" in output and "got:      [-2. -1.  0.]" in output
    # No traceback into the grading library: the message, then the test cell's failing line.
    assert "grading.py" not in output and "_fail" not in output and "Traceback" not in output, output
    assert output.index("CheckFailed") < output.index("Cell In[") and "line 3:  check_close(log_softmax(x)" in output, output

    # 3. The right answer, typed into the page: the same test passes.
    type_into(page, solution, RIGHT)
    run_cell(page, solution)
    output = run_cell(page, test)
    page.screenshot(path=SHOTS / "3-passing-test.png")
    assert output.strip() == "log_softmax: visible tests passed", output

    # 4. Finish the other two exercises, run everything; the widget renders and responds.
    type_into(page, code_cell(page, "def cross_entropy"), CROSS_ENTROPY)
    type_into(page, code_cell(page, "def train_step"), TRAIN_STEP)
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    last = code_cell(page, "results check skipped")
    last.locator(".jp-OutputArea-output").wait_for(timeout=3 * MINUTE)
    assert "SMOKE mode: results check skipped" in last.inner_text()
    assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                            has_text="Traceback").count(), "Run All should raise no error"
    widget = code_cell(page, "widgets.interact(show_temperature")
    widget.scroll_into_view_if_needed()
    readout = widget.locator(".widget-readout")
    readout.wait_for()
    start = readout.text_content()
    assert float(start) == 1.0, start
    before = widget.locator(".jp-OutputArea-output img").last.get_attribute("src")
    page.screenshot(path=SHOTS / "4-widget.png")
    widget.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")  # the slider moves; the kernel redraws the plot
    page.wait_for_function(
        """([cell, src]) => { const imgs = cell.querySelectorAll('.jp-OutputArea-output img');
                             return imgs.length > 0 && imgs[imgs.length - 1].src !== src; }""",
        arg=[widget.element_handle(), before])
    page.screenshot(path=SHOTS / "4-widget-moved.png")
    assert float(readout.text_content()) > 1.0

    # 5. Answer the two reflection questions (markdown cells), then validate again.
    for answer in ("Subtracting the max keeps every exponent at most 0.",
                   "Hidden tests try other shapes, axes and extreme values."):
        cell = page.locator(".jp-MarkdownCell", has_text="YOUR ANSWER HERE").first
        cell.scroll_into_view_if_needed()
        cell.dblclick()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(answer)
        page.keyboard.press("Control+Enter")  # renders the markdown
        page.locator(".jp-MarkdownCell .jp-RenderedMarkdown", has_text=answer).wait_for()
    assert not page.locator(".jp-MarkdownCell", has_text="YOUR ANSWER HERE").count()
    verdict = validate(page)
    page.screenshot(path=SHOTS / "5-validate-passed.png")
    assert "Success! Your notebook passes all the tests." in verdict, verdict[:500]
    close_dialog(page)
    print("console errors:", page.console_errors)
    assert not page.console_errors, page.console_errors[:5]
    saved = (lab.root / NOTEBOOK).read_text()
    assert "torch.exp(x - m)" in saved and "torch.exp(x - m)" not in (ROOT / "course" / NOTEBOOK).read_text()
