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
ext-e2e: $(EXT_BUNDLE) code-server
	$(EXT_PYTHON) -m pytest -q -p no:cacheprovider -m vscode tests/e2e_vscode

# The installable .vsix (vsce; the manifest, the minified bundle and the README, see .vscodeignore).
ext-package: $(EXT_VSIX)
$(EXT_VSIX): $(EXT_STAMP) $(EXT_SOURCES) extension/scripts/build.mjs tsconfig.json .vscodeignore README.md
	$(NPM) run package

# The Beads tree with 10,000 beads: prints JSON lines {"metric", "value", "unit"} (figures, not a test).
ext-bench: $(EXT_STAMP)
	$(NPM) run bench
