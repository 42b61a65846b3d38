#!/usr/bin/env bash
# Every figure of issue 16 (BENCHMARKS.md), each with the baseline it is
# compared to, measured in the same run. One area or all of them:
#
#   scripts/bench.sh [store] [sync] [serve] [generate]     default: all four
#
#   store     the local store (runtime/datastore) against raw Badger doing
#             the same work: save, get, indexed query against a scan
#   sync      base sync of 10,000 and 100,000 records from dsgen serve in
#             another process: records/s, client CPU per record, peak heap;
#             baseline: the server alone serving the same pages
#   serve     createPost mutations from internal/serve/loadgen in its own
#             process at 1, 8 and 32 clients (mutations/s, p50/p99, server
#             CPU per mutation); baselines: the store's Mutate with group
#             commit and raw Badger synced transactions, 32 writers
#   generate  dsgen generate at 10, 100 and 500 models, cold, warm and one
#             change; baselines: gofmt and cp -r of the output
#
# The load average is printed before each area: on a shared machine read the
# ratios and the CPU figures, not the absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
areas=("$@")
[ ${#areas[@]} -gt 0 ] || areas=(store sync serve generate)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load() { echo "== $1 ($(date -u +%H:%M:%S) UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }

for area in "${areas[@]}"; do
	case $area in
	store)
		load "local store vs raw Badger"
		go test -run '^$' -bench 'Save$|Get$|IndexedQuery|BatchSave' -benchmem -count 3 ./runtime/datastore
		;;
	sync)
		load "base sync vs the server alone"
		go test -run '^$' -bench BaseSyncProc -benchtime 2x ./runtime/syncengine
		;;
	serve)
		load "dsgen serve mutations vs the store and raw Badger"
		go build -o "$work/dsgen" ./cmd/dsgen
		go build -o "$work/loadgen" ./internal/serve/loadgen
		"$work/loadgen" -dsgen "$work/dsgen" -clients 1,8,32 -n 20000 -warmup 500
		go test -run '^$' -bench 'SyncedWrites/.*/writers=32$' -benchtime 20000x ./internal/serve/store
		go test -run '^$' -bench 'SyncedBatches' -benchtime 20000x ./internal/serve/store
		;;
	generate)
		load "dsgen generate vs gofmt and cp -r"
		scripts/bench-generate.sh
		;;
	*)
		echo "scripts/bench.sh: unknown area $area (want store, sync, serve or generate)" >&2
		exit 2
		;;
	esac
done
