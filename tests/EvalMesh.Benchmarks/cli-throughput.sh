#!/usr/bin/env bash
# Whole-process figures of the evalmesh CLI on the embedded silo: publishes the CLI (Release, ReadyToRun, as it would
# be shipped), then times echo-6k five times (the matrix promptfoo 0.118 runs in 37.4 s on the reference machine),
# echo-10k, echo-100k and echo-1m (cells/s and peak RSS, to show memory does not grow with the run), and the seed
# experiment.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish client/EvalMesh.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$work/cli" -v:q -nologo >/dev/null
export EVALMESH_HOME="$work/home"
cli="$work/cli/evalmesh"

measure() { # config -> "wall_seconds peak_kb run_seconds cells"
  /usr/bin/time -f "%e %M" -o "$work/time" "$cli" run "$1" --json --out "$work/out" > "$work/report.json" || true
  python3 - "$work/report.json" "$(tail -n 1 "$work/time")" <<'PY'
import json, sys, datetime
run = json.load(open(sys.argv[1]))["run"]
wall, rss = sys.argv[2].split()
seconds = (datetime.datetime.fromisoformat(run["updatedAt"]) - datetime.datetime.fromisoformat(run["createdAt"])).total_seconds()
print(wall, rss, seconds, run["completed"], run["state"])
PY
}

echo "echo-6k (6,000 cells), whole process, 5 runs:"
for i in 1 2 3 4 5; do measure client/examples/echo-6k.yaml; done | awk '{ printf "  %.2f s wall, %d MB peak RSS, %s\n", $1, $2/1024, $5 }'
for config in echo-10k echo-100k echo-1m; do
  measure client/examples/$config.yaml | awk -v c=$config '{ printf "%s: %d cells in %.2f s of run = %d cells/s; %.2f s wall; %d MB peak RSS\n", c, $4, $3, $4/$3, $1, $2/1024 }'
done
# The last run was echo-1m's: its JUnit report (every cell) written again by `report`, whole process.
run_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["run"]["runId"])' "$work/report.json")
/usr/bin/time -f "%e %M" -o "$work/time" "$cli" report "$run_id" --format junit --out "$work/junit.xml"
awk '{ printf "echo-1m report --format junit: %.1f s wall, %d MB peak RSS\n", $1, $2/1024 }' "$work/time"
measure client/examples/slack-formats.yaml | awk '{ printf "slack-formats (1,200 cells, 900 on the tiny llama model): %.1f s wall, %d MB peak RSS, %s\n", $1, $2/1024, $5 }'
