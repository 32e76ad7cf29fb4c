# Two commands are the whole set-up on a fresh clone: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test debian-tools lint typecheck unit bench stress clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever either pyproject.toml changes: localcloud is a distribution of its own.
$(STAMP): pyproject.toml localcloud/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ./localcloud -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/python -m shared.devstack serve

# Debian packages the tests use, installed here when missing (root, else sudo), silent when
# present: Chromium and its chromedriver for the browser test
# (tests/e2e/test_browser_form.py), valgrind for the counted cold start
# (tests/integration/test_bench_instructions.py).
DEBIAN_PKGS := chromium chromium-driver valgrind
debian-tools:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] \
	    || [ ! -x /usr/bin/valgrind ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; log=$$(mktemp); \
	  echo "installing Debian's $(DEBIAN_PKGS) for the tests"; \
	  $$apt install -y -q --no-install-recommends $(DEBIAN_PKGS) >$$log 2>&1 \
	  || { $$apt update -q >>$$log 2>&1 \
	       && $$apt install -y -q --no-install-recommends $(DEBIAN_PKGS) >>$$log 2>&1; } \
	  || { cat $$log; rm -f $$log; exit 1; }; \
	  rm -f $$log; \
	fi

test: $(STAMP) debian-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions localcloud/src localcloud/tests
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
