# The two commands a newcomer needs:
#   go run ./examples/blog/sync   run the example end to end (backend and two clients)
#   make test                 everything CI checks

.PHONY: test generate check-generated check-console console bench bench-store bench-sync bench-serve bench-generate bench-all interop

test: check-generated check-console
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt'ed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	@# A throwaway PostgreSQL for the PostgreSQL engine's tests (unless
	@# DSGEN_TEST_POSTGRES names one) and Debian's chromium for the
	@# console's browser test (screenshots in test-artifacts/); without
	@# them those tests skip, except under CI=true. -timeout is the hang
	@# guard of a package's test binary: the default 10 min is too close
	@# to what the slowest packages take on a loaded 2-core machine (runtime/storage
	@# 251 s, internal/serve/store 197 s in CI logs).
	@if chromium=$$(./scripts/chromium.sh); then export DSGEN_CHROMIUM="$$chromium"; \
	elif [ "$$CI" = true ]; then exit 1; \
	else echo "no chromium: the console's browser test skips"; fi; \
	export DSGEN_TEST_ARTIFACTS="$${DSGEN_TEST_ARTIFACTS:-$(CURDIR)/test-artifacts}"; \
	if [ -z "$$DSGEN_TEST_POSTGRES" ]; then \
		if url=$$(./scripts/pg-test.sh start); then export DSGEN_TEST_POSTGRES="$$url"; started=1; \
		elif [ "$$CI" = true ]; then exit 1; \
		else echo "no PostgreSQL: its tests skip"; fi; \
	fi; \
	echo "go test -race -timeout 30m ./..."; go test -race -timeout 30m ./...; rc=$$?; \
	if [ -n "$$started" ]; then ./scripts/pg-test.sh stop; fi; exit $$rc
	$(MAKE) interop

# The real Amplify JS DataStore client syncing against dsgen serve.
interop:
	./interop/run.sh

# Regenerating the example must not change the checked-in code.
check-generated: generate
	@if [ -n "$$(git status --porcelain -- examples)" ]; then \
		echo "regenerating examples/ changed checked-in code:"; git status --short -- examples; git --no-pager diff --stat -- examples; exit 1; \
	fi

generate:
	go generate ./examples/...

# The console's bundle (internal/serve/console/dist, embedded in dsgen) is
# checked in; rebuilding it from web/ with the locked packages must not
# change it.
console:
	go generate ./internal/serve/console

check-console: console
	@if [ -n "$$(git status --porcelain -- internal/serve/console/dist)" ]; then \
		echo "rebuilding the console changed internal/serve/console/dist: commit the rebuilt bundle"; git status --short -- internal/serve/console/dist; exit 1; \
	fi

# Every figure of BENCHMARKS.md's issue-16 tables with its same-run
# baseline (about 5 minutes on 2 idle cores); one area with bench-<area>.
bench:
	scripts/bench.sh

bench-store:
	scripts/bench.sh store

bench-sync:
	scripts/bench.sh sync

bench-serve:
	scripts/bench.sh serve

# Every benchmark of the runtime and templates, once each.
bench-all:
	go test -run '^$$' -bench . -benchmem ./templates ./runtime/...

# The generator: in process, then the whole process with its baselines
# (gofmt and cp -r of the output); see BENCHMARKS.md.
bench-generate:
	go test -run '^$$' -bench Generate -benchmem -benchtime 5x ./internal/gen
	scripts/bench.sh generate
