#!/usr/bin/env bash
# pg-queue's benchmark, side by side with queue-consumer on the same workloads (docs/pg-queue.md).
# Run from the workspace root: crates/pg-queue/bench/compare.sh [rounds] [pattern]: rounds
# default 3; only the rows whose name matches the grep pattern, if one is given.
# Each run starts its own private server (PostgreSQL cluster, redis-server) on a Unix socket;
# rows are interleaved round by round so that a busy machine slows them alike. Prints one
# markdown table: the median of the rounds, with the range in brackets. Needs jq.
set -euo pipefail
rounds=${1:-3}
pattern=${2:-}
cargo build --release -q -p pg-queue -p queue-consumer -p basic
pg=target/release/pg-queue
qc=target/release/queue-consumer
basic=target/release/basic
# basic's rate: its jobs over its whole run (it has no queue to fill first).
basic_rate='.submitted / .wall_ms * 1000'
unset DATABASE_URL REDIS_URL

# name | jq filter on the summary | command
rows=(
  "pg-queue trivial, batched (--batch 64 --complete-batch 256), jobs/s|.jobs_per_sec|$pg --jobs 20000 --workers 4"
  "pg-queue trivial, one job per round trip (--batch 1 --complete-batch 1), jobs/s|.jobs_per_sec|$pg --jobs 5000 --workers 4 --batch 1 --complete-batch 1"
  "queue-consumer trivial, batched (--count 64 --ack-batch 256), messages/s|.messages_per_sec|$qc --messages 20000 --workers 4"
  "queue-consumer trivial, one message per round trip (--count 1 --ack-batch 1), messages/s|.messages_per_sec|$qc --messages 5000 --workers 4 --count 1 --ack-batch 1"
  "pg-queue add→start p50 ms, --wake notify (200 jobs, one INSERT every 10 ms)|.due_to_start_ms_p50|$pg --jobs 200 --every-ms 10 --wake notify"
  "pg-queue add→start p50 ms, --wake poll --poll-ms 50|.due_to_start_ms_p50|$pg --jobs 200 --every-ms 10 --wake poll"
  "pg-queue add→start p50 ms, --wake poll --poll-ms 10|.due_to_start_ms_p50|$pg --jobs 200 --every-ms 10 --wake poll --poll-ms 10"
)
for w in 1 2 4 8 16 32; do
  n=$((w * 400))
  rows+=("pg-queue 5 ms jobs, $w workers, jobs/s (ideal $((w * 200)))|.jobs_per_sec|$pg --jobs $n --work-ms 5 --workers $w")
  rows+=("queue-consumer 5 ms jobs, $w workers, messages/s (ideal $((w * 200)))|.messages_per_sec|$qc --messages $n --work-ms 5 --workers $w")
  rows+=("basic (no queue, the in-process pool) 5 ms jobs, $w workers, jobs/s (ideal $((w * 200)))|$basic_rate|$basic --jobs $n --work-ms 5 --workers $w")
done
if [ -n "$pattern" ]; then
  kept=()
  for row in "${rows[@]}"; do
    if grep -q -- "$pattern" <<<"${row%%|*}"; then kept+=("$row"); fi
  done
  rows=("${kept[@]}")
fi

declare -A got
for round in $(seq "$rounds"); do
  for i in "${!rows[@]}"; do
    IFS='|' read -r name field cmd <<<"${rows[$i]}"
    # shellcheck disable=SC2086 # the command is words
    value=$($cmd --json --quiet | tail -n 1 | jq -r "$field" |
      awk '{ if ($1 >= 100) printf "%.0f", $1; else printf "%.2f", $1 }')
    echo "round $round: $name: $value" >&2
    got[$i]="${got[$i]:-} $value"
  done
done

echo "| what | median of $rounds (range) |"
echo "|---|---|"
for i in "${!rows[@]}"; do
  IFS='|' read -r name _ _ <<<"${rows[$i]}"
  # shellcheck disable=SC2086
  stats=$(printf '%s\n' ${got[$i]} | sort -g | awk '{v[NR]=$1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s (%s-%s)", m, v[1], v[NR]}')
  echo "| $name | $stats |"
done
