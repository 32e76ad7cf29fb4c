# Two commands are the whole set-up on a fresh clone: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test debian-tools bench-tools lint typecheck unit integration e2e bench stress clean
.PHONY: unit-tests integration-tests e2e-tests

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever either pyproject.toml changes: localcloud is a distribution of its own.
$(STAMP): pyproject.toml localcloud/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./localcloud -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python -m shared.devstack serve

# Debian packages, installed when missing (root, else sudo), silent when present:
# Chromium and its chromedriver for the browser test (tests/e2e/test_browser_form.py), and
# for `make bench` valgrind, which counts cold starts in instructions.
define apt_install
	@missing=""; for p in $(1); do [ -x /usr/bin/$$p ] || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; log=$$(mktemp); \
	  echo "installing Debian's$$missing"; \
	  $$apt install -y -q --no-install-recommends $(2) >$$log 2>&1 \
	  || { $$apt update -q >>$$log 2>&1 \
	       && $$apt install -y -q --no-install-recommends $(2) >>$$log 2>&1; } \
	  || { cat $$log; rm -f $$log; exit 1; }; \
	  rm -f $$log; \
	fi
endef

debian-tools:
	$(call apt_install,chromium chromedriver,chromium chromium-driver)

bench-tools:
	$(call apt_install,valgrind,valgrind)

# Everything, in one pytest run: lint, types, then every tier (the docs build is a test).
test: lint typecheck debian-tools
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared functions localcloud/src localcloud/tests

# The tiers of `make test`, one at a time (docs/development.md). unit: the fast loop, pure
# tests on the in-memory fakes, the network shut (tests/unit/conftest.py).
unit: lint
	$(BIN)/python -m pytest tests/unit

# Whatever is neither unit nor e2e: localcloud and the real Google clients, the contract
# suite, the hostile tests, the docs build and localcloud's own tests.
integration: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/unit --ignore=tests/e2e

# `make serve` as a subprocess, and the form in a real (headless) browser.
e2e: $(STAMP) debian-tools
	$(BIN)/python -m pytest tests/e2e

unit-tests: unit
integration-tests: integration
e2e-tests: e2e

bench: $(STAMP) bench-tools
	$(BIN)/python -m bench $(BENCH_ARGS)

# The docs site (mkdocs.yml), strict: a broken link or include fails (make test builds it too).
.PHONY: docs
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# Load and fault tests of the whole local stack on 127.0.0.1: several minutes, prints the
# figures, exits 1 if anything accepted was lost or stored twice (not part of `make test`).
stress: $(STAMP)
	$(BIN)/mypy --strict stress
	$(BIN)/python -m stress $(STRESS_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
