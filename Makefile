# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# make test exercises SQLite and this PostgreSQL database; `make test PG_TEST_URL=` runs SQLite only.
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# Two or more workers (pytest-xdist), a module per worker: the demo test alone takes minutes, the rest runs beside it.
PYTEST_XDIST ?= -n auto --maxprocesses=4 --dist loadfile

.PHONY: install test demo docs docs-coverage lint format serve clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,demo,postgres]'
	touch $(STAMP)

install: $(STAMP)

test: install
	AUDITPACK_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

DEMO_DIR ?= auditpack-demo

demo: install
	$(VENV)/bin/auditpack demo --out $(DEMO_DIR)

# docs/packet-summary.png: the executive summary of the demo's PCI DSS packet (needs poppler's pdftoppm).
docs: demo
	$(PY) docs/make_screenshot.py --pdf $(DEMO_DIR)/pci-dss.pdf --out docs/packet-summary.png

# The coverage figures the docs quote, generated from the packaged catalogs (tests fail when they are stale).
COVERAGE_DOCS := docs/frameworks.md docs/pci-dss.md
docs-coverage: install
	$(VENV)/bin/auditpack frameworks coverage $(addprefix --write-docs ,$(COVERAGE_DOCS))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

serve: install
	$(VENV)/bin/auditpack serve

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
