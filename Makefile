# consentry: two commands on a fresh machine.
#   make run   generate the sample landing zone if needed, build every asset, print a summary
#   make test  run the test suite (unit, property, in-process Dagster, end to end)
#   make eval  tagger floors and reports on ../shared/eval-data (needs that folder; CI runs it when present)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run run-cluster cluster-deps test eval ui intake lint clean browser-deps

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,cluster]"
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m automation.full_build

# make run-cluster: the same build on a local Ray head + 2 workers, PostgreSQL and a moto S3 endpoint,
# all on 127.0.0.1 and stopped afterwards; prints the release (docs/DEPLOYMENT.md).
run-cluster: $(STAMP) cluster-deps
	$(PY) -m automation.cluster

# Debian's PostgreSQL server binaries (initdb, pg_ctl) for the cluster build and the ledger tests.
cluster-deps:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "cluster-deps: PostgreSQL server binaries already installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; \
	fi

test: $(STAMP) browser-deps cluster-deps
	$(PY) -m pytest

EVAL_DATA ?= $(CURDIR)/../shared/eval-data
eval: $(STAMP)
	@test -f $(EVAL_DATA)/README.md || { echo "make eval: no eval data at $(EVAL_DATA)"; exit 2; }
	$(PY) -m pytest -m eval

# make ui: Dagster on :3000 and the objection form on :3100; Ctrl-C stops both.
ui: $(STAMP)
	$(PY) -m automation.instance
	$(PY) -m intake & intake=$$!; trap 'kill $$intake 2>/dev/null; wait $$intake' EXIT; \
		$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# The objection form alone on http://127.0.0.1:3100 (CONSENTRY_INTAKE_PORT); links: python -m intake.links USER_ID
intake: $(STAMP)
	$(PY) -m intake

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf data .dagster_home

# Debian's chromium + fonts for tests/test_ui_browser.py (Playwright drives /usr/bin/chromium;
# `playwright install` cannot download here). Needs root, as on the dev machines and CI.
browser-deps:
	@if [ -x /usr/bin/chromium ] && dpkg -s fonts-liberation >/dev/null 2>&1; then \
		echo "browser-deps: chromium and fonts-liberation already installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation; \
	fi
