# The two commands the README promises. Both create what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# Set up, migrate the embedded SQLite database and run the bot (reads ./config.toml if present).
run: $(STAMP)
	$(BIN)/cradle db upgrade
	$(BIN)/cradle run

# Set up and run every test, plus the import-layering contracts.
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench ingress --updates ../shared/bench/traffic-20k.jsonl --database-url sqlite+aiosqlite:///bench/ingress.db

clean:
	rm -rf $(VENV) cradle.db cradle.db-wal cradle.db-shm bench/*.db*
