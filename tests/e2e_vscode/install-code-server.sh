#!/usr/bin/env bash
# Install code-server (VS Code 1.100.3 in the browser) into $REPO/.cache/code-server using only the npm
# registry and Debian apt (Microsoft's CDN and GitHub downloads are unreachable here). Follows the
# "Real VS Code, offline" recipe in the project's FACTS. Idempotent: a stamp file makes a second run
# return at once.
#
#   tests/e2e_vscode/install-code-server.sh          # install (or no-op if installed)
#   FORCE=1 tests/e2e_vscode/install-code-server.sh  # redo every step
#
# Prints the code-server entry script (run it with `node`) on its last line.
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="${CODE_SERVER_PREFIX:-$REPO/.cache/code-server}"
CS="$PREFIX/node_modules/code-server"
VSCODE="$CS/lib/vscode"
STAMP="$PREFIX/.installed-$CODE_SERVER_VERSION"
LAUNCHER="$CS/out/node/entry.js"

log() { printf '[install-code-server] %s\n' "$*" >&2; }

if [[ -f "$STAMP" && -f "$LAUNCHER" && -z "${FORCE:-}" ]]; then
  log "already installed ($STAMP)"
  echo "$LAUNCHER"
  exit 0
fi

start=$(date +%s)

# 1. System packages, only the missing ones (apt needs root).
APT_PACKAGES=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium build-essential python3)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""
  [[ "$(id -u)" != 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
command -v rg >/dev/null || { log "ripgrep (rg) not found after apt-get"; exit 1; }
[[ -x /usr/bin/chromium ]] || { log "/usr/bin/chromium not found after apt-get"; exit 1; }

# 2. node-gyp, for the native modules.
if ! command -v node-gyp >/dev/null; then
  log "npm install -g node-gyp"
  npm install -g node-gyp --no-audit --no-fund >&2
fi

# 3. code-server itself, without its postinstall (it fails here three ways; its steps are done below).
mkdir -p "$PREFIX"
# A package.json of its own, so that npm does not walk up and install into the repo's node_modules.
# npm 11 blocks dependency install scripts unless package.json's allowScripts lists them: argon2's.
cat >"$PREFIX/package.json" <<JSON
{"name": "gastown-code-server", "private": true,
 "dependencies": {"code-server": "$CODE_SERVER_VERSION"}, "allowScripts": {"argon2": true}}
JSON
installed_version="$(node -p "try { require('$CS/package.json').version } catch (e) { '' }")"
if [[ "$installed_version" != "$CODE_SERVER_VERSION" || -n "${FORCE:-}" ]]; then
  log "npm install code-server@$CODE_SERVER_VERSION --ignore-scripts"
  (cd "$PREFIX" && npm install "code-server@$CODE_SERVER_VERSION" --ignore-scripts --no-audit --no-fund >&2)
fi

# 4. VS Code's own dependencies, scripts off (@vscode/ripgrep's postinstall downloads from GitHub).
log "lib/vscode: npm install --omit=dev --ignore-scripts"
(cd "$VSCODE" && npm install --omit=dev --ignore-scripts --no-audit --no-fund >&2)

# 5. Debian's rg where @vscode/ripgrep expects its download (its postinstall skips when bin/ exists).
mkdir -p "$VSCODE/node_modules/@vscode/ripgrep/bin"
ln -sfn "$(command -v rg)" "$VSCODE/node_modules/@vscode/ripgrep/bin/rg"

# 6. Build the native modules (node-pty, spdlog, kerberos, parcel-watcher, ...).
log "lib/vscode: npm rebuild (native modules)"
(cd "$VSCODE" && npm rebuild >&2)

# 7. node_modules.asar -> node_modules (what code-server's postinstall does in lib/vscode).
ln -sfn node_modules "$VSCODE/node_modules.asar"

# 8. The built-in extensions' shared dependencies.
log "lib/vscode/extensions: npm install --omit=dev"
(cd "$VSCODE/extensions" && npm install --omit=dev --no-audit --no-fund >&2)
ln -sfn node_modules "$VSCODE/extensions/node_modules.asar"

# 9. code-server's own native module. npm hoists argon2 to $PREFIX/node_modules, so rebuild it there;
#    its install script (node-pre-gyp) would try a GitHub download first: build from source instead.
log "argon2: npm rebuild (from source)"
(cd "$PREFIX" && npm_config_build_from_source=true npm rebuild argon2 >&2)

# 10. The platform script links the postinstall would have made.
ln -sfn code-linux.sh "$VSCODE/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VSCODE/bin/helpers/browser.sh"

# Smoke: the native modules load, rg is in place, the launcher answers --version.
(cd "$VSCODE" && node -e '
  for (const m of ["node-pty", "@vscode/spdlog", "kerberos", "@parcel/watcher", "native-watchdog"]) require(m);
') || { log "a native module of VS Code does not load (see above)"; exit 1; }
(cd "$CS" && node -e 'require("argon2")') || { log "argon2 does not load (see above)"; exit 1; }
[[ -x "$VSCODE/node_modules/@vscode/ripgrep/bin/rg" ]] || { log "ripgrep link missing"; exit 1; }
# (a scratch XDG home: code-server writes a default config file and logs on every start)
scratch="$(mktemp -d)"
version_out="$(XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" node "$LAUNCHER" --version 2>&1 | grep -v ' info ' | head -1)"
rm -rf "$scratch"
[[ "$version_out" == "$CODE_SERVER_VERSION"* ]] || { log "code-server --version said: $version_out"; exit 1; }

date -u +%FT%TZ >"$STAMP"
log "installed code-server $version_out in $(($(date +%s) - start)) s"
echo "$LAUNCHER"
