# Gas Town for VS Code. Two commands:  make demo  (the main job, offline)  ·  make test  (every tier)
# Both set up everything they need (a .venv, npm packages incl. the Copilot CLI, Debian packages and
# code-server for the browser tier), idempotently: a second run only does what changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
export COPILOT_CLI_PATH ?= $(CURDIR)/node_modules/.bin/copilot

include mk/extension.mk  # EXT_STAMP (npm ci), EXT_BUNDLE, ext-test, code-server

.PHONY: demo test setup test-py test-unit lint schemas schemas-check contracts clean bubblewrap dist

demo: $(PY_STAMP) $(EXT_STAMP)
	$(VPY) -m gastown demo

setup: $(PY_STAMP) $(EXT_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@


# Every tier: lint and generated files, Python unit/ledger/LSP/runtime tests, extension unit tests and
# types, the .vsix (vsce), and the real VS Code test (code-server + headless Chromium).
test: lint schemas-check ext-test ext-package test-py

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check server tests $(wildcard bench)
	$(VENV)/bin/lint-imports --no-cache  # the layer contracts in pyproject.toml
	$(VENV)/bin/mypy  # strict, over server/gastown ([tool.mypy] in pyproject.toml)

# The contracts, one source each: the pydantic models, the method names (lsp/protocol.py) and the editor
# settings (lsp/editor_settings.py over config.Settings) -> schemas/ -> extension/src/protocol.ts,
# extension/src/contracts.ts and package.json's contributes.configuration. `make test` fails while any is stale
# (schemas-check here, `npm run check:types` in ext-test).
contracts: schemas ext-gen-types

schemas: $(PY_STAMP)
	$(VPY) -m gastown schemas --out schemas

schemas-check: $(PY_STAMP)
	@tmp=$$(mktemp -d) && $(VPY) -m gastown schemas --out $$tmp >/dev/null && \
	  if ! diff -r $$tmp schemas; then echo "schemas/ is stale: run 'make contracts' and commit" >&2; rm -rf $$tmp; exit 1; fi; \
	  rm -rf $$tmp

# Most tests wait on real processes (the CLI, git, code-server), so one worker per core overlaps the waits;
# `--dist load` spreads single tests (the three real VS Code runs land on both workers).
test-py: $(PY_STAMP) $(EXT_STAMP) $(EXT_BUNDLE) $(EXT_VSIX) code-server bubblewrap
	$(VPY) -m pytest -q -p no:cacheprovider -n auto --dist load --durations=15

test-unit: $(PY_STAMP) bubblewrap
	$(VPY) -m pytest -q tests/unit tests/ledger

# bwrap confines the polecats' shell commands (polecats.sandbox); the sandbox tests need it (Debian apt).
bubblewrap:
	@command -v bwrap >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bubblewrap >&2; }
	@command -v bwrap >/dev/null || { echo "bubblewrap (bwrap) is missing after apt-get" >&2; exit 1; }

# The server for terminal users: a wheel and an sdist in dist/ (`pip install dist/gastown-*.whl`).
# `-P`: the repository root must not shadow the `build` package.
dist: $(PY_STAMP)
	$(VPY) -P -m build --outdir dist .

clean:
	rm -rf $(VENV) node_modules dist bundled build .cache test-artifacts
