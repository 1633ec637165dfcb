#!/usr/bin/env bash
# Three `consume` processes of 4 workers on one queue of 20,000 jobs (docs/pg-queue.md): how the
# work spread, how fast all three went together, and how many jobs ran twice (none should).
# Run from the workspace root: crates/pg-queue/bench/three-consumers.sh [jobs] [work-ms].
# Starts a private PostgreSQL cluster (a temporary folder, a Unix socket, fsync off; as the
# postgres user when root) and stops it at exit. Needs jq and Debian's postgresql package.
set -euo pipefail
jobs=${1:-20000}
work_ms=${2:-0}
cargo build --release -q -p pg-queue
pg=$PWD/target/release/pg-queue
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/pg-queue-bench-XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as_pg=(runuser -u postgres --); fi
cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-k $dir -c listen_addresses= -c fsync=off -c max_connections=200" start >/dev/null
export DATABASE_URL="postgres://postgres@${dir//\//%2F}/postgres"

"$pg" produce --quiet --jobs "$jobs" >/dev/null
start=$(date +%s.%N)
for i in 1 2 3; do
  "$pg" consume --workers 4 --work-ms "$work_ms" --json >"$dir/c$i.jsonl" &
done
wait
end=$(date +%s.%N)
for i in 1 2 3; do
  tail -n 1 "$dir/c$i.jsonl" | jq -r --arg i "$i" \
    '"consumer \($i): \(.completed) jobs completed, \(.jobs_per_sec) jobs/s over its pool time"'
done
# Every job number that finished ok, over the three: how many distinct, how many twice.
cat "$dir"/c?.jsonl | jq -r 'select(.event == "finished" and .outcome == "ok") | .value' |
  sort -n | uniq -c | awk -v jobs="$jobs" '{ n++; if ($1 > 1) twice++ }
    END { printf "distinct jobs done: %d of %d; ran twice: %d\n", n, jobs, twice + 0 }'
echo "all three together: $(echo "$jobs / ($end - $start)" | bc -l | xargs printf '%.0f') jobs/s (wall, process start to last exit)"
