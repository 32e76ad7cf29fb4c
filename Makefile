# Two commands are the whole set-up on a fresh clone: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test browser lint typecheck unit bench stress clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python -m localcloud serve

# The browser test (tests/e2e/test_browser_form.py) drives Debian's Chromium through its
# chromedriver: installed here when missing (root, else sudo), silent when present.
BROWSER_PKGS := chromium chromium-driver
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; log=$$(mktemp); \
	  echo "installing Debian's $(BROWSER_PKGS) for the browser test"; \
	  $$apt install -y -q --no-install-recommends $(BROWSER_PKGS) >$$log 2>&1 \
	  || { $$apt update -q >>$$log 2>&1 \
	       && $$apt install -y -q --no-install-recommends $(BROWSER_PKGS) >>$$log 2>&1; } \
	  || { cat $$log; rm -f $$log; exit 1; }; \
	  rm -f $$log; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions localcloud
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Load and fault tests of the whole local stack on 127.0.0.1: several minutes, prints the
# figures, exits 1 if anything accepted was lost or stored twice (not part of `make test`).
stress: $(STAMP)
	$(BIN)/mypy --strict stress
	$(BIN)/python -m stress $(STRESS_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
