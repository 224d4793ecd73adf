# genlab: two commands.  `make lab` sets up and opens JupyterLab on course/;
# `make test` sets up and runs the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.genlab-installed
PORT   ?= 8888
LAB_ROOT ?= course
# Tools the real-use tests drive (issue 3): JupyterHub's proxy from npm, Debian's chromium.
CHP    := deploy/local/node_modules/.bin/configurable-http-proxy

.PHONY: setup lab-settings test-tools browser lab site test test-fast test-recipes smoke stress course execute check benchmark clean

setup: $(STAMP)

# torch==2.13.0 goes first: it is the CPU build, and it satisfies genlab's torch>=2.4,
# so pip never pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e '.[test]'
	$(BIN)/jupyter labextension list 2>&1 | grep -q nbgrader
	$(MAKE) --no-print-directory lab-settings
	touch $(STAMP)

# Offline course: JupyterLab neither asks about nor fetches its news feed (as on Binder).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.d/genlab.json
lab-settings: binder/lab-settings.json
	mkdir -p $(dir $(LAB_SETTINGS)) && cp binder/lab-settings.json $(LAB_SETTINGS)

# The browser test needs Debian's chromium (Playwright drives it; no browser download).
# As root (CI) it is installed here; elsewhere install it yourself or the test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "note: no chromium; 'sudo apt-get install chromium' to run the browser test"; fi; }

$(CHP): deploy/local/package.json deploy/local/package-lock.json
	cd deploy/local && npm ci --no-audit --no-fund --loglevel=error
	touch $(CHP)

# The course site's scripts (KaTeX, the widgets' HTML manager, require.js), served by the site itself.
SITE_JS := deploy/site/node_modules/.package-lock.json
$(SITE_JS): deploy/site/package.json deploy/site/package-lock.json
	cd deploy/site && npm ci --no-audit --no-fund --loglevel=error
	touch $(SITE_JS)

test-tools: setup browser $(CHP) $(SITE_JS)

# Offline: no news feed, no update check (both would reach out to the internet).
lab: setup
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
	  --ServerApp.root_dir=$(LAB_ROOT) $(if $(filter 0,$(shell id -u)),--allow-root,) \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

# Everything, one pytest-xdist worker per usable CPU (pyproject.toml, tests/conftest.py); then the
# after-course pass, which reads what the first produced (tests/test_after_course.py).
test: test-tools
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --after-course -n 0

# The edit-test loop (about 2 minutes): library unit tests and course hygiene; no notebook
# executions, no grading cycles, no browser or hub.
test-fast: setup
	$(BIN)/python -m pytest -m "not notebook and not grading and not realuse and not slow"

# The shipped models' recipes re-run and compared with the shipped weights (about 10 minutes of
# one CPU each), whatever changed; then the code they ran is recorded as verified. `make test`
# re-runs a recipe only when the code it runs differs from that record (genlab.course.recipes).
test-recipes: setup
	GENLAB_RECIPES=all $(BIN)/python -m pytest -m slow -k recipe
	$(BIN)/python -m genlab.course recipes --record

# The course site (build/site): course/ with the outputs of the full-mode run in reports/executed-full.
# A missing or stale run stops it and names the command that refreshes it (on a clean machine:
# `make execute site`, about 25 minutes of notebooks first).
site: setup $(SITE_JS)
	$(BIN)/python -m genlab.course site

# Instructor shortcuts (see README): rebuild course/, execute every notebook, check hygiene.
course: setup
	$(BIN)/python -m genlab.course build
execute: setup
	$(BIN)/python -m genlab.course execute
smoke: setup
	$(BIN)/python -m genlab.course execute --smoke
# Hang hunting: the SMOKE course and autograde batches, repeatedly, beside a CPU hog per core.
stress: setup
	$(BIN)/python -m genlab.course stress
check: setup
	$(BIN)/python -m genlab.course check

# Regenerate (or resume) DigitsBench-201: about 90 CPU-minutes, resumable at any point.
# Move lib/genlab/nas/data/*.jsonl away first to start from scratch.
benchmark: setup
	$(BIN)/python -m genlab.nas.generate --workers 2
	$(BIN)/python -m genlab.nas.generate --seed 1 --subset 300 --workers 2

clean:
	rm -rf $(VENV) .pytest_cache build reports deploy/local/node_modules
