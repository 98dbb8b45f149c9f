#!/usr/bin/env bash
# The server the .vsix carries: the gastown wheel and every dependency's wheels for one platform and the
# supported Python versions, in bundled/wheels/. The extension installs from there with --no-index on first
# start (extension/src/bootstrap.ts), so an installed extension needs only a Python >= 3.11, no network.
# Usage: bundle-wheels.sh PYTHON [PLATFORM]   (PLATFORM: a pip platform tag, default manylinux x86_64)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:?python}
PLATFORMS=${2:-"manylinux_2_17_x86_64 manylinux2014_x86_64"}
OUT=bundled/wheels
rm -rf "$OUT" && mkdir -p "$OUT"
# setuptools reuses build/lib when its files look newer than the sources: never ship a stale copy.
rm -rf build
"$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$OUT" .
wheel=$(ls "$OUT"/gastown-*.whl)
plat_args=()
for p in $PLATFORMS; do plat_args+=(--platform "$p"); done
for v in 3.11 3.12 3.13; do
  "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: "${plat_args[@]}" \
    --python-version "$v" -d "$OUT" "$wheel"
done
echo "bundled/wheels: $(ls "$OUT" | wc -l) wheels, $(du -sh "$OUT" | cut -f1)"
