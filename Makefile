# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.core-installed
STAMP := $(VENV)/.installed
ARGS ?=
TEST_WORKERS ?= 2  # pytest-xdist workers for `make test` (0: one process)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test test-fast install core browser promtool lint bench clean

# The engine alone (what the snake demo needs): no torch, Ray, Gradio or Playwright.
$(CORE): pyproject.toml scripts/vendor_js.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	bash scripts/vendor_js.sh
	touch $(CORE)

# Everything the tests use: the extras [dev,rl,playground,sysctl,selfplay].
$(STAMP): $(CORE)
	# torch first, pinned: the CPU build on disk; any other spec pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev,rl,playground,sysctl,selfplay]"
	touch $(STAMP)

core: $(CORE)

install: $(STAMP)

demo: $(CORE)
	$(BIN)/ratchet run recipes/snake.yaml $(ARGS)

# The browser tests drive Debian's chromium (headless); install it once.
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The alert rules are checked by promtool (Debian's prometheus package); install it once.
promtool:
	@command -v promtool >/dev/null 2>&1 || { echo "installing promtool for the alert-rule tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends \
	  prometheus >/dev/null; }

test: $(STAMP) browser promtool
	$(BIN)/ruff check src tests examples bench
	$(BIN)/lint-imports  # the layers and no cycles (pyproject.toml: tool.importlinter)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

# The edit loop: everything but the tests marked slow (daemons, clusters, browsers).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP) browser
	$(BIN)/pip install -q -e ".[dev,rl,playground,sysctl,selfplay,bench]"
	$(BIN)/python -m bench.decision_quality
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.executors
	$(BIN)/python -m bench.dashboard
	$(BIN)/python -m bench.cartpole
	$(BIN)/python -m bench.sysctl
	$(BIN)/python -m bench.selfplay
	$(BIN)/python -m bench.league

clean:
	rm -rf $(VENV) runs .pytest_cache
