#!/usr/bin/env bash
# Runs every test project once: installs what the tests need, builds the solution once, runs all tests, and ends
# with one line "N passed, N failed[, N skipped]" summed over every test project.
set -uo pipefail
cd "$(dirname "$0")/.."

summary() { echo "$1 passed, $2 failed${3:+, $3 skipped}"; }

tests/prerequisites.sh || { echo "installing test prerequisites failed"; summary 0 1; exit 1; }

if ! dotnet build EvalMesh.sln -nologo -v:q -clp:ErrorsOnly; then
  echo "the build failed"
  summary 0 1
  exit 1
fi

log=$(mktemp)
dotnet test --solution EvalMesh.sln --no-build --no-progress 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The closing summary of 'dotnet test' on Microsoft.Testing.Platform sums every test project.
total=$(grep -E '^\s+total: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
passed=$(grep -E '^\s+succeeded: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
rm -f "$log"
if [ -z "${total:-}" ]; then
  echo "no test summary was printed (exit code $status)"
  summary 0 1
  exit 1
fi
# A test host that crashed counts as a failure even if every test it reported passed.
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=1
fi
summary "${passed:-0}" "${failed:-0}" "${skipped:-0}"
[ "${failed:-0}" -eq 0 ]
