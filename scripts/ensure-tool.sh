#!/usr/bin/env bash
# Installs a Debian package when the command it provides is missing (tests need chromium, nft).
# Usage: ensure-tool.sh COMMAND PACKAGE       e.g. ensure-tool.sh chromium chromium
set -euo pipefail
cmd=$1 pkg=$2
if command -v "$cmd" >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "$cmd is missing and this is not root: install it with 'apt-get install -y $pkg'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }
command -v "$cmd"
