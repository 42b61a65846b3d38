#!/usr/bin/env bash
# Whole-process figures of `dsgen generate` for the synthetic schemas of
# ../shared/schemas/synthetic (10, 100, 500 models): wall time and peak RSS
# from /usr/bin/time, the median of RUNS runs (default 5) each.
#
#   cold       empty output directory, no lock, no cache
#   warm       the same schema again (must write nothing)
#   onechange  one model in the middle gains or loses a field; dsgen migrate
#              moves the lock first (not timed), as a user does
#   gofmt      a baseline: gofmt -l over the output (formatting alone)
#   copy       a baseline: cp -r of the output (writing the files alone)
#   baseline   cold, with the dsgen binary in $DSGEN_BASELINE if set (e.g. a
#              build of an older commit), in the same run
#
#   scripts/bench-generate.sh [sizes...]      default: 10 100 500
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
sizes=("${@:-10 100 500}")
read -r -a sizes <<<"${sizes[*]}"
synth=$(cd .. && pwd)/shared/schemas/synthetic
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/dsgen" ./cmd/dsgen
gofmt=$(go env GOROOT)/bin/gofmt

echo "load before: $(uptime)"
printf '%-6s %-10s %8s %12s %8s %8s  %s\n' models step "wall s" "wall min-max" "CPU s" "RSS MB" note

# timed CMD...: runs CMD once, appends "wall rss_kb" to $work/times.
timed() {
	/usr/bin/time -f '%e %M %U %S' -o "$work/t" "$@" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
	cat "$work/t" >>"$work/times"
}

# report N STEP NOTE: prints the medians of $work/times and clears it.
report() {
	local walls rss
	walls=$(cut -d' ' -f1 "$work/times" | sort -n | tr '\n' ' ')
	rss=$(cut -d' ' -f2 "$work/times" | sort -n | tr '\n' ' ')
	cpu=$(awk '{ print $3 + $4 }' "$work/times" | sort -n | tr '\n' ' ')
	echo "$walls|$rss|$cpu" | awk -F'|' -v n="$1" -v s="$2" -v note="$3" '{
		k = split($1, w, " "); split($2, r, " "); split($3, c, " "); m = int((k + 1) / 2)
		printf "%-6s %-10s %8.3f %12s %8.2f %8.0f  %s\n", n, s, w[m], w[1] "-" w[k], c[m], r[m] / 1024, note
	}'
	rm -f "$work/times"
}

for n in "${sizes[@]}"; do
	d=$work/n$n
	mkdir -p "$d"
	cp "$synth/synth$n.graphql" "$d/a.graphql"
	mid=$(printf 'M%04d' $((n / 2)))
	sed "/^type $mid @model/a\\  note: String" "$d/a.graphql" >"$d/b.graphql"
	gen=(generate -q --schema "$d/schema.graphql" --out "$d/out/model" --import-path example.com/app/model
		--introspection "$d/out/model-introspection.json" --cache "$d/cache")
	fresh() { rm -rf "$d/out" "$d/cache" "$d/dsgen.lock.json" "$d/migrations"; cp "$d/a.graphql" "$d/schema.graphql"; }

	if [ -n "${DSGEN_BASELINE:-}" ]; then
		for _ in $(seq "$runs"); do
			fresh
			timed "$DSGEN_BASELINE" "${gen[@]::${#gen[@]}-2}"
		done
		report "$n" baseline "$DSGEN_BASELINE, cold"
	fi

	for _ in $(seq "$runs"); do
		fresh
		timed "$work/dsgen" "${gen[@]}"
	done
	report "$n" cold "$(find "$d/out" -type f | wc -l) files, $(du -sm "$d/out" | cut -f1) MB"

	stamp=$work/stamp
	touch "$stamp"
	for _ in $(seq "$runs"); do
		timed "$work/dsgen" "${gen[@]}"
	done
	report "$n" warm "$(find "$d/out" -type f -newer "$stamp" | wc -l) files written"

	written=0
	for i in $(seq "$runs"); do
		if [ $((i % 2)) = 1 ]; then cp "$d/b.graphql" "$d/schema.graphql"; else cp "$d/a.graphql" "$d/schema.graphql"; fi
		"$work/dsgen" migrate --schema "$d/schema.graphql" --out "$d/out/model" >/dev/null
		touch "$stamp"
		sleep 0.01
		timed "$work/dsgen" "${gen[@]}"
		written=$(find "$d/out" -type f -newer "$stamp" | wc -l)
	done
	report "$n" onechange "$written files written ($mid)"

	for _ in $(seq "$runs"); do
		timed "$gofmt" -l "$d/out/model"
	done
	report "$n" gofmt "gofmt -l over the output (formatting alone)"

	for _ in $(seq "$runs"); do
		rm -rf "$d/copy"
		timed cp -r "$d/out" "$d/copy"
	done
	report "$n" copy "cp -r of the output (writing the files alone)"
done
echo "load after: $(uptime)"
