# The two commands of the README: `make play` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_MODULES := web_client/node_modules/.package-lock.json

.PHONY: play test bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_MODULES): web_client/package.json web_client/package-lock.json
	cd web_client && npm ci --no-audit --no-fund

## play: set up and run the server on http://localhost:8080 with local sign-in (SQLite).
play: $(VENV)/.installed $(NODE_MODULES)
	$(BIN)/game-server migrate
	$(BIN)/game-server serve --dev

## test: install the test extras and run the whole suite, on TEST_WORKERS processes (default 2;
## browsers, nginx and server processes stay on one of them: tests/conftest.py).
TEST_WORKERS ?= 2
test: $(VENV)/.installed-test $(NODE_MODULES)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

## bench: the load tool against the game server and the two reference peers (docs/performance.md).
bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	cd bench/peers && npm ci --no-audit --no-fund
	$(BIN)/python -m bench compare --mode ramp --clients 1000 --repeat 3

## soak: minutes of players, reloads, floods, slow readers and garbage against one server;
## then replay every game, look for stuck tables, ERROR lines and RSS (bench/soak.py). Not in CI.
soak: $(VENV)/.installed
	$(BIN)/python -m bench.soak --clients 300 --seconds 120

clean:
	rm -rf $(VENV) web_client/node_modules test-artifacts .pytest_cache .hypothesis
