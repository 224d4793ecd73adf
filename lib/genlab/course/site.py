"""The course site: every notebook as executed in full mode, readable without running anything.

``python -m genlab.course site`` (``make site``) writes ``build/site/``: an index with the course
map (title per notebook, with the full-mode times and peak memory of the README's course map) and
the guides (``docs/*.md`` and the README), and one page per
notebook rendered by nbconvert's ``lab`` template, so a page looks as the notebook does in
JupyterLab, plots, tables and widgets (in their initial state) included.

Each page is the LEARNER notebook from ``course/`` (solutions and hidden tests already stripped
by nbgrader) with the outputs of the full-mode run of ``solutions/`` (``reports/executed-full``,
papermill's output): cells are matched by id; nbgrader's solution and test cells show the
learner's source and no output (their outputs came from the model answer and hidden tests).
A page whose text contains a line of solution or hidden test (``check.secret_lines``) is never
written: the build fails instead.

Offline: KaTeX (maths), the widgets' HTML manager and require.js come from npm (``deploy/site``,
``npm ci``); they are copied into ``_static/`` and pages load them by relative URLs, so the site
reads from a USB stick with the network off. KaTeX rather than the MathJax 2.7 of
``jupyter-server-mathjax``: that copy has only the HTML-CSS output with STIX fonts, needed three
work-arounds to load nothing missing, and took 4-8 s per page to typeset in Chromium where KaTeX
takes under 1 s; the browser test fails on any formula KaTeX cannot render.
"""
from __future__ import annotations

import argparse
import copy
import html
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import RELEASE, SOURCE, assignments, cell_source, repo_root
from .check import secret_lines

EXECUTED = Path("reports") / "executed-full"
OUT = Path("build") / "site"
NPM = Path("deploy") / "site"          # package.json + package-lock.json: KaTeX, the widget scripts
TEMPLATES = Path(__file__).with_name("site_templates")
STATIC = "_static"
REQUIRE_URL = f"{STATIC}/require.js"
WIDGETS_URL = f"{STATIC}/widgets/embed-amd.js"
INJECTED = "injected-parameters"       # papermill's tag on the cell it inserts
FONT_SUFFIXES = {".woff2", ".woff"}   # what Chromium, Firefox and Safari load from the widgets' CSS


@dataclass
class SiteReport:
    """What a build wrote: the pages (relative to ``out``), how long it took, how big it is."""

    out: Path
    pages: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    bytes: int = 0

    def summary(self) -> str:
        return (f"built {len(self.pages)} pages in {self.seconds:.1f} s, {self.bytes / 1e6:.1f} MB: "
                f"{self.out / 'index.html'}")


# --- notebooks --------------------------------------------------------------------------------

def _is_nbgrader(cell: dict) -> bool:
    """A solution or test (grade) cell: its output came from the model answer or hidden tests."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def _executed_cells(executed: dict) -> dict[str, dict]:
    """The executed notebook's cells by id, papermill's injected-parameters cell left out."""
    return {c["id"]: c for c in executed["cells"]
            if INJECTED not in c.get("metadata", {}).get("tags", [])}


def _check_current(name: str, executed_path: Path, executed: dict, solutions: dict) -> None:
    """The executed notebook must come from today's ``solutions/``: the same cells, the same code.

    Markdown may differ (the page takes its text from ``course/``); code may not, since its outputs
    would then describe code the page does not show. A run that stopped on an error is refused too."""
    refresh = f"refresh it with `python -m genlab.course execute --only {name}`"
    cells = _executed_cells(executed)
    if [c["id"] for c in solutions["cells"]] != list(cells):
        raise ValueError(f"{executed_path} is stale: its cells are not those of {SOURCE}/{name}; {refresh}")
    for cell in solutions["cells"]:
        if cell["cell_type"] == "code" and cell_source(cell) != cell_source(cells[cell["id"]]):
            raise ValueError(f"{executed_path} is stale: code cell {cell['id']} differs from "
                             f"{SOURCE}/{name}; {refresh}")
    for cell in cells.values():
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise ValueError(f"{executed_path}: cell {cell['id']} stopped with "
                                 f"{out.get('ename')}: {out.get('evalue')}; {refresh}")


def merged_notebook(course: dict, executed: dict) -> dict:
    """The learner notebook with the executed outputs of its learner-facing cells.

    Cells are matched by id. nbgrader's solution and test cells keep the learner's source and get
    no output; every other code cell gets the executed outputs and execution count. The executed
    notebook's widget state comes along, so widgets show in their state at the end of the run."""
    cells = _executed_cells(executed)
    merged = copy.deepcopy(course)
    for cell in merged["cells"]:
        if cell["cell_type"] != "code":
            continue
        if cell["id"] not in cells:
            raise ValueError(f"course cell {cell['id']} is not in the executed notebook "
                             f"(course/ out of sync? `python -m genlab.course build`)")
        if not _is_nbgrader(cell):
            cell["outputs"] = copy.deepcopy(cells[cell["id"]].get("outputs", []))
            cell["execution_count"] = cells[cell["id"]].get("execution_count")
    widgets = executed.get("metadata", {}).get("widgets")
    if widgets:
        merged["metadata"]["widgets"] = copy.deepcopy(widgets)
    return merged


def notebook_title(nb: dict, default: str) -> str:
    """The first level-1 heading of the notebook's first markdown cell."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            match = re.search(r"^#\s+(.+)$", cell_source(cell), re.M)
            return match.group(1).strip() if match else default
    return default


def _exporter():
    """nbconvert's ``lab`` HTML exporter with the site's template and local script URLs."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)],
                        template_file="genlab_page.html.j2",
                        require_js_url=REQUIRE_URL, widget_renderer_url=WIDGETS_URL)


def render_notebook(nb: dict, *, prev: str | None = None, next: str | None = None,
                    exporter=None) -> str:
    """One notebook as a site page (HTML text); ``prev``/``next``: neighbours' file names."""
    import nbformat
    node = nbformat.from_dict(nb)
    body, _ = (exporter or _exporter()).from_notebook_node(
        node, resources={"genlab_prev": prev, "genlab_next": next, "genlab_static": STATIC})
    return body


# --- leaks ------------------------------------------------------------------------------------

def page_text(page: str) -> str:
    """What a reader can read on a page: tags dropped (code is highlighted token by token), HTML
    entities decoded; the raw HTML follows, so text inside scripts (widget state) counts too."""
    return html.unescape(re.sub(r"<[^>]+>", "", page)) + "\n" + html.unescape(page)


def markdown_text(nb: dict) -> str:
    """The readable text of a notebook's Markdown cells (rendered, tags dropped)."""
    import mistune
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", mistune.html(cell_source(c))))
                     for c in nb["cells"] if c["cell_type"] == "markdown")


def page_leaks(page: str, secret: set[str], given: str = "") -> list[str]:
    """The secret lines (``check.secret_lines``) that appear in a page's text.

    ``given``: text the learner is given anyway (the learner notebook's Markdown, which ``check``
    already vets in ``course/``): an instruction such as "return `mutate(parent, self.rng)`"
    renders as the solution's line once its backticks become a <code> tag, and is no leak."""
    text = page_text(page)
    return sorted(line for line in secret if line in text and line not in given)


# --- guides (Markdown) ------------------------------------------------------------------------

def slug(text: str, seen: dict[str, int]) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    base = re.sub(r"[^\w\- ]", "", html.unescape(re.sub(r"<[^>]+>", "", text)).strip().lower()).replace(" ", "-")
    n = seen.get(base, 0)
    seen[base] = n + 1
    return base if n == 0 else f"{base}-{n}"


def render_markdown(path: Path, root: Path, targets: dict[Path, str]) -> str:
    """A Markdown file as HTML. Relative links to a file the site has (``targets``: repo path →
    page) point to its page; links to other repository files keep their text, unlinked; images
    become their alt text (the README's only one is the remote Binder badge, and the site loads
    nothing from outside)."""
    import mistune

    seen: dict[str, int] = {}

    class Renderer(mistune.HTMLRenderer):
        def heading(self, text, level, **attrs):
            return f'<h{level} id="{slug(text, seen)}">{text}</h{level}>\n'

        def link(self, text, url, title=None):
            if re.match(r"^[a-z]+:", url) or url.startswith("#"):
                return super().link(text, url, title)
            target, _, anchor = url.partition("#")
            resolved = (path.parent / target).resolve()
            inside = resolved.is_relative_to(root.resolve())
            page = targets.get(resolved.relative_to(root.resolve())) if inside else None
            if page is None:
                return f'<span class="genlab-repo-link" title="{html.escape(target)}">{text}</span>'
            return super().link(text, page + (f"#{anchor}" if anchor else ""), title)

        def image(self, text, url, title=None):
            return f"<span>{text}</span>"

    markdown = mistune.create_markdown(renderer=Renderer(escape=False),
                                       plugins=["table", "strikethrough", "url"])
    return markdown(path.read_text())


def _html_page(title: str, body: str) -> str:
    """A plain site page (index, guides) in the notebook pages' colours and fonts."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 60em;
  margin: 0 auto; padding: 1em 2em; line-height: 1.5; color: #212121; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ddd; padding: 0.3em 0.7em; }}
td.num {{ text-align: right; }} code, pre {{ background: #f5f5f5; }} pre {{ padding: 0.6em; overflow-x: auto; }}
nav.genlab-nav {{ border-bottom: 1px solid #ddd; padding-bottom: 0.5em; }}
</style></head>
<body>
<nav class="genlab-nav"><a href="index.html">Course map</a></nav>
{body}
</body></html>
"""


# --- index ------------------------------------------------------------------------------------

def course_map(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The README's course-map table (the measured times and memory the project publishes):
    its header's measurement columns, and each module's cells for them."""
    text = (root / "README.md").read_text() if (root / "README.md").exists() else ""
    start, end = text.find("<!-- course-map:start -->"), text.find("<!-- course-map:end -->")
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text[start:end].splitlines() if line.startswith("|") and "---" not in line]
    if start < 0 or end < 0 or not rows:
        return [], {}
    return rows[0][2:], {row[0].strip("`"): row[2:] for row in rows[1:]}


def index_html(rows: list[dict], columns: list[str], guides: list[tuple[str, str]]) -> str:
    """The course map (one row per notebook: title, the README's measurements) and the guides."""
    lines = ["<h1>genlab — the course, as executed</h1>",
             "<p>Every notebook of the course with the outputs of one full-mode run (plots, tables, "
             "widgets in their initial state). The exercises show what the learner starts from; "
             "run them yourself in JupyterLab (<code>make lab</code>).</p>",
             "<h2>Course map</h2>",
             "<table><thead><tr><th>Notebook</th>"
             + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead><tbody>"]
    for row in rows:
        cells = row["measured"] or ["not measured"] * len(columns)
        lines.append(f'<tr><td><a href="{row["page"]}">{html.escape(row["title"])}</a></td>'
                     + "".join(f'<td class="num">{html.escape(c)}</td>' for c in cells) + "</tr>")
    lines.append("</tbody></table>")
    if columns:
        lines.append('<p>Times and peak kernel memory as the <a href="readme.html#course-map">README\'s '
                     "course map</a> gives them, measured in full mode by <code>python -m genlab.course "
                     "execute</code>; it says on which machine and under which load.</p>")
    if guides:
        lines.append("<h2>Guides</h2><ul>")
        lines += [f'<li><a href="{page}">{html.escape(title)}</a></li>' for title, page in guides]
        lines.append("</ul>")
    return _html_page("genlab — course map", "\n".join(lines))


# --- assets -----------------------------------------------------------------------------------

def copy_assets(root: Path, out: Path) -> None:
    """KaTeX, require.js and the widgets' HTML manager (with its fonts) into ``out/_static``."""
    modules = root / NPM / "node_modules"
    katex = modules / "katex/dist"
    manager, requirejs = modules / "@jupyter-widgets/html-manager/dist", modules / "requirejs/require.js"
    if not all(p.exists() for p in (katex / "katex.min.js", manager / "embed-amd.js", requirejs)):
        raise ValueError(f"the site needs KaTeX and the widget scripts from npm: `cd {NPM} && npm ci`")
    static = out / STATIC
    (static / "katex" / "contrib").mkdir(parents=True)
    for name in ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js"):
        shutil.copy2(katex / name, static / "katex" / name)
    # woff2 is the first format katex.min.css lists, so a browser never asks for the woff/ttf copies
    shutil.copytree(katex / "fonts", static / "katex" / "fonts", ignore=shutil.ignore_patterns("*.woff", "*.ttf"))
    (static / "widgets").mkdir(parents=True)
    shutil.copy2(manager / "embed-amd.js", static / "widgets")
    for font in manager.iterdir():
        if font.suffix in FONT_SUFFIXES:
            shutil.copy2(font, static / "widgets")
    shutil.copy2(requirejs, static / "require.js")


# --- the build --------------------------------------------------------------------------------

def _load(path: Path, what: str) -> dict:
    """A notebook (nbformat 4, sources as strings); ``ValueError`` when it is not there."""
    import nbformat
    if not path.exists():
        raise ValueError(f"no {what} at {path}")
    return nbformat.read(path, as_version=4)


def build_site(root: Path, executed: Path | None = None, out: Path | None = None) -> SiteReport:
    """Build the site from ``executed`` (default ``reports/executed-full``) into ``out``
    (default ``build/site``, replaced). ``ValueError`` when an executed notebook is missing,
    stale or failed, when assets are missing, or when a page would leak a solution."""
    start = time.perf_counter()
    executed = Path(executed) if executed else root / EXECUTED
    out = Path(out) if out else root / OUT
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    copy_assets(root, out)
    report = SiteReport(out)
    columns, measured = course_map(root)
    exporter = _exporter()
    notebooks = [(a.name, nb) for a in assignments(root) for nb in a.notebooks]
    pages = [f"{nb.stem}.html" for _, nb in notebooks]
    rows = []
    for i, (name, solutions_nb) in enumerate(notebooks):
        executed_nb = executed / name / solutions_nb.name
        if not executed_nb.exists():
            raise ValueError(f"no executed notebook {executed_nb}: run `python -m genlab.course "
                             f"execute --only {name}` (full mode) first")
        run, solutions = _load(executed_nb, "executed notebook"), _load(solutions_nb, "notebook")
        _check_current(name, executed_nb, run, solutions)
        course = _load(root / RELEASE / name / solutions_nb.name, "learner notebook (`python -m genlab.course build`)")
        page = render_notebook(merged_notebook(course, run), exporter=exporter,
                               prev=pages[i - 1] if i else None,
                               next=pages[i + 1] if i + 1 < len(pages) else None)
        leaks = page_leaks(page, secret_lines(solutions_nb), given=markdown_text(course))
        if leaks:
            raise ValueError(f"{pages[i]} would show {len(leaks)} line(s) of solution or hidden test "
                             f"from {solutions_nb.relative_to(root)}, e.g. {leaks[0]!r}")
        (out / pages[i]).write_text(page)
        rows.append({"page": pages[i], "title": notebook_title(course, name), "measured": measured.get(name)})
    report.pages += [Path(p) for p in pages]
    guides = _write_guides(root, out, dict(zip((Path(RELEASE) / n / nb.name for n, nb in notebooks), pages)))
    report.pages += [Path(p) for _, p in guides]
    (out / "index.html").write_text(index_html(rows, columns, guides))
    report.pages.insert(0, Path("index.html"))
    report.seconds = round(time.perf_counter() - start, 1)
    report.bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return report


def _write_guides(root: Path, out: Path, notebook_pages: dict[Path, str]) -> list[tuple[str, str]]:
    """``docs/*.md`` and the README (its instructor guide) as pages; their (title, page) pairs."""
    sources = sorted((root / "docs").glob("*.md")) + [root / "README.md"]
    pages = {p.relative_to(root): ("readme.html" if p.name == "README.md" else f"{p.stem}.html")
             for p in sources if p.exists()}
    targets = {**{Path(str(k).replace(RELEASE, SOURCE, 1)): v for k, v in notebook_pages.items()},
               **notebook_pages, **pages}
    guides = []
    for rel, page in pages.items():
        text = (root / rel).read_text()
        match = re.search(r"^#\s+(.+)$", text, re.M)
        title = match.group(1).strip() if match else rel.stem
        if rel.name == "README.md":
            title = "README: setup, course map, instructor guide"
        (out / page).write_text(_html_page(title, render_markdown(root / rel, root, targets)))
        guides.append((title, page))
    return guides


def main(argv: list[str] | None = None) -> int:
    """``python -m genlab.course.site [--executed DIR] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m genlab.course site", description=__doc__.split("\n")[0])
    parser.add_argument("--executed", type=Path, default=None,
                        help=f"full-mode executed notebooks (default {EXECUTED})")
    parser.add_argument("--out", type=Path, default=None, help=f"where the site goes (default {OUT})")
    args = parser.parse_args(argv)
    try:
        report = build_site(repo_root(), executed=args.executed, out=args.out)
    except ValueError as err:
        print(f"site: {err}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
