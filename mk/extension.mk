# The VS Code extension: npm dependencies, bundle, TS tests, and code-server for the real-VS Code test.
# Included from the top Makefile; every path is relative to the repository root.

NPM ?= npm
EXT_PYTHON ?= $(or $(VPY),.venv/bin/python)
EXT_STAMP := node_modules/.stamp
EXT_BUNDLE := dist/extension.js
EXT_SOURCES := $(wildcard extension/src/*.ts extension/src/*/*.ts)
CODE_SERVER_INSTALL := tests/e2e_vscode/install-code-server.sh

# npm ci from package-lock.json (it also installs the Copilot CLI, @github/copilot); redone when the
# lock or the manifest changes.
$(EXT_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# The bundle the extension runs (vscode-languageclient inside, `vscode` external).
$(EXT_BUNDLE): $(EXT_STAMP) $(EXT_SOURCES) extension/scripts/build.mjs tsconfig.json
	$(NPM) run build

EXT_VSIX := dist/gastown.vsix

.PHONY: ext-test ext-gen-types code-server ext-e2e ext-package ext-bench
# Regenerate extension/src/protocol.ts, extension/src/contracts.ts and package.json's contributes.configuration
# from schemas/ (after `make schemas`; `make contracts` does both); ext-test fails while any is stale.
ext-gen-types: $(EXT_STAMP)
	$(NPM) run gen:types

# Extension unit tests (vitest), type check, and "the generated types, method names and settings match schemas/".
ext-test: $(EXT_STAMP)
	$(NPM) run check:types
	$(NPM) run typecheck
	$(NPM) test

# code-server 4.100.3 + Chromium for the real-VS Code test (idempotent; instant once installed).
code-server:
	$(CODE_SERVER_INSTALL)

# The real-VS Code test on its own (the full pytest run includes it).
ext-e2e: $(EXT_BUNDLE) $(EXT_VSIX) code-server
	$(EXT_PYTHON) -m pytest -q -p no:cacheprovider -m vscode tests/e2e_vscode

# The server the .vsix carries: the gastown wheel and its dependencies' wheels for linux-x64 and CPython
# 3.11-3.13 (pip download; needs the network once, ~10 MB). The extension installs them offline on first start.
EXT_WHEELS := bundled/.wheels-stamp
EXT_TARGET ?= linux-x64
$(EXT_WHEELS): pyproject.toml $(shell find server/gastown -type f -not -path '*/__pycache__/*') extension/scripts/bundle-wheels.sh
	extension/scripts/bundle-wheels.sh $(EXT_PYTHON)
	touch $@

# The installable .vsix (vsce; the manifest, the minified bundle, the README and the wheels, see .vscodeignore).
# Platform-specific (`--target`): the wheels of pydantic-core and orjson are compiled per platform.
ext-package: $(EXT_VSIX)
$(EXT_VSIX): $(EXT_STAMP) $(EXT_WHEELS) $(EXT_SOURCES) extension/scripts/build.mjs tsconfig.json .vscodeignore README.md
	$(NPM) run package -- --target $(EXT_TARGET)

# The Beads tree with 10,000 beads: prints JSON lines {"metric", "value", "unit"} (figures, not a test).
ext-bench: $(EXT_STAMP)
	$(NPM) run bench
