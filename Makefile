# The two commands a newcomer needs:
#   go run ./examples/blog/sync   run the example end to end (backend and two clients)
#   make test                 everything CI checks

.PHONY: test generate check-generated bench interop

test: check-generated
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt'ed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go test -race ./...
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

bench:
	go test -run '^$$' -bench . -benchmem ./templates ./runtime/...
