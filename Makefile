# lockorder — static lock-order linter for Linux kernel C.
GO ?= go
BIN := bin/lockorder
CORPUS ?= $(shell bash scripts/kernel-corpus.sh --print-path 2>/dev/null)

.PHONY: build test demo bench kernel-corpus fuzz vet clean

build:
	$(GO) build -o $(BIN) ./cmd/lockorder

# Formatting, vet, unit tests and the fixture suite (the whole pipeline
# over fixtures/) under the race detector (parsing is parallel), then a
# short fuzz of the parser, the cleaning pass and the pipeline, bounded by
# input counts (a time bound can end in the middle of an input and fail
# with "context deadline exceeded").
test:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt -l: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race ./...
	$(GO) test -run '^$$' -fuzz FuzzParseFile -fuzztime 10000x -fuzzminimizetime 50x ./parser/
	$(GO) test -run '^$$' -fuzz FuzzClean -fuzztime 50000x -fuzzminimizetime 50x ./parser/
	$(GO) test -run '^$$' -fuzz FuzzPipeline -fuzztime 5000x -fuzzminimizetime 50x ./rules/

# Scan each bundled fixture folder (one program each, as the tests do) and
# print the findings with their paths. Findings are the point here, so exit
# status 1 from a scan is expected.
demo: build
	@for d in fixtures/*/; do \
	  echo "== $$d"; ./$(BIN) scan --strict --progress never "$$d"; st=$$?; \
	  [ $$st -le 1 ] || exit $$st; \
	done

# Go benchmarks of each stage on fixtures, then a timed whole-tree scan
# (wall, CPU, peak RSS) when the corpus is present.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bash scripts/bench-tree.sh

# Install Debian's linux-source-6.1 and unpack it outside the repository.
kernel-corpus:
	bash scripts/kernel-corpus.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseFile -fuzztime 2m ./parser/
	$(GO) test -run '^$$' -fuzz FuzzClean -fuzztime 1m -fuzzminimizetime 50x ./parser/
	$(GO) test -run '^$$' -fuzz FuzzPipeline -fuzztime 1m -fuzzminimizetime 50x ./rules/
	$(GO) test -run '^$$' -fuzz FuzzDecodeFile -fuzztime 1m ./parser/

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
