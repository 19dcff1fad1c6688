# Convenience targets; the scripts are the source of truth.
.PHONY: test run vet sandbox-start sandbox-stop
test:
	scripts/test.sh
run:
	scripts/run.sh
vet:
	go vet ./...
sandbox-start:
	scripts/sandbox.sh provision && scripts/sandbox.sh start
sandbox-stop:
	scripts/sandbox.sh stop
