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

# Two test projects at a time (the machine's cores), the longest first, so that the two finish together: 'dotnet test
# --solution' starts them in no set order, and EvalMesh.Cluster.Tests (over five minutes, most of them one test waiting
# on a rate limit) started after others made the suite minutes longer. Longest as measured; any other project follows.
longest=(Cluster Cli Report Grains Training)
projects=()
for name in "${longest[@]}"; do projects+=("tests/EvalMesh.$name.Tests"); done
for folder in tests/*.Tests; do
  [[ " ${projects[*]} " == *" $folder "* ]] || projects+=("$folder")
done

logs=$(mktemp -d)
printf '%s\n' "${projects[@]}" | xargs -P 2 -I{} bash -c '
  log="$1/$(basename "$2").log"
  dotnet test --project "$2" --no-build --no-progress > "$log" 2>&1
  echo "exit code: $?" >> "$log"
  cat "$log"' _ "$logs" {}

# Each project's 'dotnet test' ends with its own summary: add them up.
sum() { cat "$logs"/*.log | grep -E "^\s+$1: [0-9]+" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum succeeded)
failed=$(sum failed)
skipped=$(sum skipped)
reported=$(cat "$logs"/*.log | grep -cE '^\s+total: [0-9]+')
# A test host that crashed counts as a failure even if every test it reported passed.
crashed=$(grep -L '^exit code: 0$' "$logs"/*.log | wc -l)
rm -rf "$logs"
if [ "$reported" -ne "${#projects[@]}" ]; then
  echo "$(( ${#projects[@]} - reported )) of ${#projects[@]} test projects printed no summary"
  failed=$(( ${failed:-0} + ${#projects[@]} - reported ))
elif [ "$crashed" -gt 0 ] && [ "${failed:-0}" -eq 0 ]; then
  failed=$crashed
fi
summary "${passed:-0}" "${failed:-0}" "${skipped:-0}"
[ "${failed:-0}" -eq 0 ]
