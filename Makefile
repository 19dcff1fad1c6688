# Convenience targets; the scripts are the source of truth.
# The Go release of go.mod's toolchain line, as the scripts use it.
export PATH := $(PATH):/usr/local/go/bin
export GOTOOLCHAIN := $(shell sed -n 's/^toolchain //p' go.mod)
.PHONY: test run bench soak vet lint sandbox-start sandbox-stop
test:
	scripts/test.sh
run:
	scripts/run.sh
bench:
	scripts/bench.sh
soak:
	scripts/soak.sh 20m
vet:
	go vet ./...
lint:
	scripts/lint.sh
sandbox-start:
	scripts/sandbox.sh provision && scripts/sandbox.sh start
sandbox-stop:
	scripts/sandbox.sh stop
