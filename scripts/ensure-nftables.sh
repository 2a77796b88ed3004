#!/usr/bin/env bash
# Installs nftables for the packet-loss tests when it is missing (root, Debian/Ubuntu).
set -euo pipefail
if command -v nft >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "nft is missing and this is not root: install it with 'apt-get install -y nftables'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq nftables >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nftables >/dev/null; }
command -v nft
