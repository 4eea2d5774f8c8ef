#!/usr/bin/env bash
# Puts the server inside the extension: the flowsight wheel (built from this checkout the way
# `pip install -e` builds it, so both share cargo's cache and neither rebuilds the other's)
# and its Python dependencies installed into bundled/libs, which the extension puts on PYTHONPATH
# to run `python -m flowsight serve` with any Python 3.11+ (the native module is abi3, cp311+).
# The result is specific to this platform (linux-x64): package it with `vsce package --target`.
# Uses $FLOWSIGHT_PYTHON (the environment of `make setup`, with maturin; default: the repository's .venv).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repository="$(cd "$here/../.." && pwd)"
python="${FLOWSIGHT_PYTHON:-$repository/.venv/bin/python}"
wheels="$here/dist/wheels"
libs="$here/bundled/libs"
# The Makefile's cargo cache (outside the clone).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowsight/target}"

rm -rf "$wheels" "$libs"
mkdir -p "$wheels" "$libs"
PATH="$(dirname "$python"):$PATH" "$python" -m pip wheel --quiet --no-deps --no-build-isolation --disable-pip-version-check \
  --wheel-dir "$wheels" "$repository" >&2
wheel=$(ls "$wheels"/flowsight-*.whl)
"$python" -m pip install --quiet --no-compile --disable-pip-version-check --target "$libs" "$wheel"
# Console scripts carry this machine's interpreter path: the extension runs `python -m flowsight`.
rm -rf "$libs/bin"
# Dependencies must be pure Python: only flowsight's own abi3 module may be native.
native=$(find "$libs" -name '*.so' ! -name '*.abi3.so')
if [ -n "$native" ]; then
  echo "bundle-server: dependencies with native code cannot be bundled for every Python 3.11+: $native" >&2
  exit 1
fi
echo "bundled $(basename "$wheel") and $(ls -d "$libs"/*.dist-info | wc -l) distributions into bundled/libs" >&2
