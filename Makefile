# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ratchet run recipes/snake.yaml $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/decision_quality.py
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) runs .pytest_cache
