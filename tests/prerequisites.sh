#!/usr/bin/env bash
# Installs what the tests need (real servers, not stand-ins; packages pinned by lock files), only what is missing:
# system packages with one apt update, and the Node.js packages of the manifests' schema validator and of the gateway's
# OpenAI SDK test.
set -euo pipefail
cd "$(dirname "$0")/.."
# command -> Debian packages; chromium, for the report's browser tests, with fonts to draw text in.
declare -A needs=([redis-server]=redis-server [prometheus]=prometheus [promtool]=prometheus [chromium]="chromium fonts-liberation")
missing=()
for command in "${!needs[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${needs[$command]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $(printf '%s\n' ${missing[@]} | sort -u) >/dev/null
fi

# Node.js packages (the manifests' schema validator; OpenAI's SDK, which drives the gateway), each installed again only
# when its package-lock.json changed.
for folder in tests/EvalMesh.Deployment.Tests/kubeval tests/EvalMesh.Cluster.Tests/openai-sdk; do
  if ! cmp -s "$folder/package-lock.json" "$folder/node_modules/.installed-package-lock.json"; then
    npm ci --prefix "$folder" --no-audit --no-fund --loglevel=error >/dev/null
    cp "$folder/package-lock.json" "$folder/node_modules/.installed-package-lock.json"
  fi
done
