"""The course site (``genlab.course.site``): built from the learner notebooks with executed outputs,
leak-free, and readable offline in a real browser.

Three fast tests build a one-notebook course made up here (no execution, no browser): what a page
shows and hides, the stale-run refusal, and the leak check catching a page built from
``solutions/``. The browser test (marker ``aftercourse``: ``make test`` runs it in its second pass,
``pytest --after-course``, right after the first executed every notebook in full mode) builds the site from ``reports/executed-full``, serves it on 127.0.0.1 and opens every page
in Debian's headless Chromium with every non-local request aborted: each page loads, its maths is
typeset, its images decode, its internal links resolve, its widgets render, nothing is logged as
an error; a full-page screenshot of each goes to ``reports/site/``, with what was found on each
page (maths, widgets, images, links, seconds) in ``reports/site/findings.json``.
"""
from __future__ import annotations

import copy
import functools
import html
import http.server
import json
import os
import re
import shutil
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest

from genlab.course import site

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "reports" / "site"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a headless Chromium on a machine without sandbox, GPU or internet (as test_browser.py).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]
SECRET = "answer = sum(range(10)) * 2 + 1"          # a solution line (>= 12 characters)
HIDDEN = "assert answer == 91, 'hidden check'"       # a hidden-test line
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {
    "version_major": 2, "version_minor": 0,
    "state": {"w1": {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                     "model_name": "IntSliderModel", "state": {"value": 3, "description": "steps"}}}}}


# --- a one-notebook course ---------------------------------------------------------------------

def _cell(kind: str, source: str, cell_id: str, **nbgrader) -> dict:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.id = cell_id
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": cell_id, "locked": False, **nbgrader}
    return cell


def _notebooks() -> tuple[dict, dict, dict]:
    """(solutions, course, executed) versions of one small notebook."""
    solutions = nbformat.v4.new_notebook(cells=[
        _cell("markdown", "# 00 · A tiny notebook\n\nThe loss is $\\ell(x) = x^2$.", "intro"),
        _cell("code", "SMOKE = False", "params"),
        _cell("code", f"### BEGIN SOLUTION\n{SECRET}\n### END SOLUTION", "solution",
              solution=True, grade=False),
        _cell("code", "print('visible test passed')\n### BEGIN HIDDEN TESTS\n"
                      f"{HIDDEN}\n### END HIDDEN TESTS", "test", solution=False, grade=True, points=1),
        _cell("code", "print('experiment output 4242')", "experiment")])
    solutions.cells[1].metadata["tags"] = ["parameters"]
    course = copy.deepcopy(solutions)
    course.cells[2].source = "# YOUR CODE HERE\nraise NotImplementedError()"
    course.cells[3].source = "print('visible test passed')\n"
    executed = copy.deepcopy(solutions)
    injected = _cell("code", "# Parameters\nSMOKE = False\n", "injected")
    injected.metadata["tags"] = ["injected-parameters"]
    executed.cells.insert(2, injected)
    for cell, text in zip(executed.cells[2:], ["", "", "visible test passed\n", "experiment output 4242\n"]):
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text or "solution ran\n")]
    executed.metadata["widgets"] = WIDGET_STATE
    return solutions, course, executed


@pytest.fixture
def tiny_course(tmp_path):
    """A repository with one assignment, its executed run, a time record and the site's scripts."""
    modules = ROOT / site.NPM / "node_modules"
    if not modules.exists() and os.environ.get("CI") != "true":
        pytest.skip(f"no {modules}: `cd {site.NPM} && npm ci` (make site does it)")
    solutions, course, executed = _notebooks()
    (tmp_path / "nbgrader_config.py").write_text("")
    for folder, nb in (("solutions", solutions), ("course", course), ("reports/executed-full", executed)):
        (tmp_path / folder / "00_tiny").mkdir(parents=True)
        nbformat.write(nb, tmp_path / folder / "00_tiny" / "00_tiny.ipynb")
    (tmp_path / "README.md").write_text(
        "# tiny\n\n## Course map\n\n<!-- course-map:start -->\n| module | notebook | full-mode time | peak memory |\n"
        "|---|---|---|---|\n| `00_tiny` | [00 · A tiny notebook](course/00_tiny/00_tiny.ipynb) | 12 s | 0.50 GB |\n"
        "<!-- course-map:end -->\n\nSee [the Makefile](Makefile).\n")
    (tmp_path / site.NPM).mkdir(parents=True)
    (tmp_path / site.NPM / "node_modules").symlink_to(modules)
    return tmp_path


def test_a_page_shows_the_learner_notebook_with_its_executed_outputs(tiny_course):
    report = site.build_site(tiny_course)
    out = tiny_course / "build" / "site"
    assert [str(p) for p in report.pages] == ["index.html", "00_tiny.html", "readme.html"]
    assert report.bytes > 3.5e6 and report.seconds > 0   # the widget manager (3.6 MB) and KaTeX are in it
    page = (out / "00_tiny.html").read_text()
    text = site.page_text(page)
    assert "experiment output 4242" in text, "an experiment cell shows its executed output"
    assert "YOUR CODE HERE" in text and "solution ran" not in text, "exercise cells: learner source, no output"
    assert "experiment output 4242\n</pre>" in page
    assert "visible test passed\n</pre>" not in page, "a test cell's output (it came from the model answer) is not shown"
    assert "# Parameters" not in text, "papermill's injected cell is left out"
    assert "application/vnd.jupyter.widget-state+json" in page and '"IntSliderModel"' in page
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]*)"', page)
    assert scripts == ["_static/katex/katex.min.js", "_static/katex/contrib/auto-render.min.js", site.REQUIRE_URL]
    assert f"var widgetRendererSrc = '{site.WIDGETS_URL}'" in page
    for url in scripts + [site.WIDGETS_URL, "_static/katex/katex.min.css"]:
        assert (out / url).is_file(), url
    assert not re.search(r"(unpkg\.com|cdnjs|jsdelivr|googleapis|mathjax)", page, re.I), "no CDN in a page"
    index = (out / "index.html").read_text()
    assert ('<tr><td><a href="00_tiny.html">00 · A tiny notebook</a></td><td class="num">12 s</td>'
            '<td class="num">0.50 GB</td></tr>') in index and "<th>full-mode time</th>" in index
    readme = (out / "readme.html").read_text()   # a guide: links to the site's pages, others unlinked
    assert '<a href="00_tiny.html">00 · A tiny notebook</a>' in readme and '<h2 id="course-map">' in readme
    assert '<span class="genlab-repo-link" title="Makefile">the Makefile</span>' in readme


def test_a_stale_or_failed_run_is_refused_with_the_command_that_refreshes_it(tiny_course):
    nb_path = tiny_course / "solutions" / "00_tiny" / "00_tiny.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells[4].source = "print('changed since the run')"
    nbformat.write(nb, nb_path)
    with pytest.raises(ValueError, match=r"stale: code cell experiment .*execute --only 00_tiny"):
        site.build_site(tiny_course)
    nb.cells[4].source = "print('experiment output 4242')"
    nb.cells[0].source += "\n\nMarkdown edited since the run: the page takes it from course/."
    nbformat.write(nb, nb_path)
    site.build_site(tiny_course)
    run_path = tiny_course / "reports" / "executed-full" / "00_tiny" / "00_tiny.ipynb"
    run = nbformat.read(run_path, as_version=4)
    run.cells[-1].outputs = [nbformat.v4.new_output("error", ename="RuntimeError", evalue="boom", traceback=[])]
    nbformat.write(run, run_path)
    with pytest.raises(ValueError, match="stopped with RuntimeError: boom"):
        site.build_site(tiny_course)


def test_the_leak_check_catches_a_page_built_from_solutions(tiny_course):
    solutions, course, executed = _notebooks()
    secret = site.secret_lines(tiny_course / "solutions" / "00_tiny" / "00_tiny.ipynb")
    assert secret == {SECRET, HIDDEN}
    assert site.page_leaks(site.render_notebook(site.merged_notebook(course, executed)), secret) == []
    leaked = site.render_notebook(site.merged_notebook(solutions, executed))   # the bug: solutions as source
    assert site.page_leaks(leaked, secret) == sorted([SECRET, HIDDEN])
    # ... and the build refuses to write such a page
    shutil.copy(tiny_course / "solutions" / "00_tiny" / "00_tiny.ipynb", tiny_course / "course" / "00_tiny")
    with pytest.raises(ValueError, match=r"00_tiny.html would show 2 line\(s\) of solution or hidden test"):
        site.build_site(tiny_course)
    # an instruction that spells a solution line in the learner's Markdown is no leak
    assert site.page_leaks(leaked, secret, given=f"then write `{SECRET}`\n{HIDDEN}") == []


# --- the built site in a browser ---------------------------------------------------------------

@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    # No skip: this runs in the after-course pass, right after the notebooks were executed
    # (a stale or failed run is an error there).
    report = site.build_site(ROOT, out=tmp_path_factory.mktemp("site") / "site")
    print(f"\nsite: {report.summary()}")
    return report


@pytest.fixture(scope="module")
def server(built_site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):   # the test reports what matters; no line per request
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(built_site.out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _course_notebook(page: Path) -> dict | None:
    found = list((ROOT / "course").glob(f"*/{page.stem}.ipynb"))
    return nbformat.read(found[0], as_version=4) if found else None


def _has_math(nb: dict) -> bool:
    return any(re.search(r"\$[^$\n]+\$", c.source) for c in nb.cells if c.cell_type == "markdown")


@functools.cache
def _anchors(path: Path) -> set[str]:
    return {html.unescape(a) for a in re.findall(r'\b(?:id|name)="([^"]+)"', path.read_text())}


def _broken_links(out: Path, page: Path, base: str, hrefs: list[str]) -> list[str]:
    """Internal links whose file is not in the site, or whose #anchor is not in that file."""
    broken = []
    for href in hrefs:
        url = urlparse(urljoin(base + str(page), href))
        if url.hostname not in ("127.0.0.1", "localhost"):
            continue   # an external link is never followed here (and never requested)
        target = out / unquote(url.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no such file)")
        elif url.fragment and not {url.fragment, unquote(url.fragment)} & _anchors(target):
            broken.append(f"{href} (no such anchor)")
    return broken


@pytest.mark.aftercourse
@pytest.mark.realuse
def test_every_page_of_the_site_reads_offline_in_a_browser(built_site, server):
    if CHROMIUM is None and os.environ.get("CI") != "true":
        pytest.skip("no chromium: 'make test' installs it as root; or apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    outside, errors, findings = [], [], {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)

        def route(r):
            if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
                return r.continue_()
            outside.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.on("console", lambda msg: msg.type == "error" and errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda err: errors.append(f"{page.url}: uncaught {err}"))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.url}: HTTP {r.status}"))
        try:
            for rel in built_site.pages:
                findings[str(rel)] = _check_page(page, server, built_site.out, rel)
        finally:
            browser.close()
    (SHOTS / "findings.json").write_text(json.dumps({"outside": outside, "errors": errors, "pages": findings}, indent=1))
    assert not outside, f"requests that left the machine (aborted): {outside}"
    assert not errors, errors
    assert all(not f["problems"] for f in findings.values()), {k: f["problems"] for k, f in findings.items()}


def sync_api_errors():
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    return PlaywrightTimeout


def _check_page(page, server: str, out: Path, rel: Path) -> dict:
    """Open one page; what was found on it (counts) and its problems."""
    start = time.perf_counter()
    response = page.goto(server + str(rel), wait_until="load")
    problems = [] if response and response.status == 200 else [f"HTTP {response and response.status}"]
    nb = _course_notebook(rel)
    found = {}
    if nb is not None:   # a notebook page: KaTeX has rendered its Markdown cells' maths
        page.wait_for_function("() => window.genlabMathDone === true")
        found["maths"] = page.locator(".jp-MarkdownCell .katex").count()
        found["maths_errors"] = page.evaluate(
            "() => [...document.querySelectorAll('.katex-error')].map(e => e.title.slice(0, 120))")
        left = page.evaluate("() => [...document.querySelectorAll('.jp-MarkdownCell')].map(e => e.innerText)"
                             ".join('\\n').match(/\\$[^$\\n]+\\$/g) || []")
        if _has_math(nb) and not found["maths"]:
            problems.append("the notebook has $…$ maths but nothing was typeset")
        problems += [f"maths KaTeX cannot render: {e}" for e in found["maths_errors"]]
        problems += [f"maths left as text: {m}" for m in left[:5]]
    views = (out / rel).read_text().count('<script type="application/vnd.jupyter.widget-view+json">')
    if views:   # the HTML manager renders each view into the output div that held its script
        rendered = ("() => [...document.querySelectorAll('div.jupyter-widgets.jp-OutputArea-output')]"
                    ".filter(d => d.querySelector('.lm-Widget')).length")
        try:
            page.wait_for_function(f"() => ({rendered})() >= {views}", timeout=30_000)
        except sync_api_errors() as err:
            problems.append(f"widgets: {page.evaluate(rendered)} of {views} views rendered ({err})")
        found["widget_views"], found["widgets_rendered"] = views, page.evaluate(rendered)
        if page.get_by_text("Error displaying widget").count():
            problems.append("a widget shows 'Error displaying widget'")
    bad_images = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src.slice(0, 80))")
    found["images"] = page.evaluate("() => document.images.length")
    problems += [f"image does not decode: {src}" for src in bad_images]
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    found["links"] = len(hrefs)
    problems += [f"broken link {b}" for b in _broken_links(out, rel, server, hrefs)]
    page.screenshot(path=SHOTS / f"{rel.stem}.png", full_page=True)
    found["seconds"] = round(time.perf_counter() - start, 1)
    return {**found, "problems": problems}
