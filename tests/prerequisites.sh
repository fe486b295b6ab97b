#!/usr/bin/env bash
# Installs the system packages the tests need (real servers, not stand-ins), only those missing, with one apt update.
set -euo pipefail
declare -A needs=([redis-server]=redis-server)   # command -> Debian package
missing=()
for command in "${!needs[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${needs[$command]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
