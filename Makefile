# The two commands that matter: `make run` (the hub on the local Kafka and PostgreSQL) and
# `make test` (the whole suite, same services). Both install what they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit services browser fhir-validator stop status demo contracts clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

services:
	bash deploy/local/services.sh up

## run: start Kafka + PostgreSQL if needed, seed the registry if empty, run the hub in the foreground
run: $(STAMP) services
	$(BIN)/hub run --local-console-accounts

## browser: Debian's chromium for the console's browser tests (tests/browser/), installed if missing
browser:
	bash deploy/local/chromium.sh

## fhir-validator: the HAPI FHIR reference validator (jars from Maven Central, runner compiled), for the conformance tests
fhir-validator:
	bash deploy/local/fhir-validator.sh fetch && bash deploy/local/fhir-validator.sh build

## test: the whole suite (unit, integration, end-to-end, browser) on the real broker and database
test: $(STAMP) services browser fhir-validator
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-unit: the fast suite alone, no services needed
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

## bench: the benchmark harness (bench/): throughput, latency, ceilings, scale; BENCH_ARGS="--quick" for a smoke run
bench: $(STAMP) services
	$(BIN)/python -c 'import matplotlib, psutil' 2>/dev/null || $(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

demo: $(STAMP) services
	$(BIN)/hub demo

contracts: $(STAMP)
	$(BIN)/hub contracts

stop:
	bash deploy/local/services.sh down

status:
	bash deploy/local/services.sh status

clean: stop
	rm -rf .local $(VENV)
