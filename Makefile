# policy-assistant: `make demo` (install, ingest, serve API + UI), `make test` (install, run every test) and
# `make check` (lint + test: what CI runs).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(POLICY_ASSISTANT_DATA_DIR),var)
API_PORT ?= 8000
UI_PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: help setup check test lint ingest serve ui demo eval bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the project with its test extras (quick when nothing changed)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

test: setup ## run every test (real Sudachi, Chroma, embedder, HTTP app)
	$(BIN)/python -m pytest --durations 20

check: lint test ## lint, then every test (what CI runs: .ci/run)

lint: setup ## ruff check, ruff format --check, mypy (check_untyped_defs) on assistant/, ingest/, ui/ and evals/
	$(BIN)/ruff check assistant ingest ui evals tests
	$(BIN)/ruff format --check assistant ingest ui evals tests
	$(BIN)/mypy assistant ingest ui evals

ingest: setup ## parse corpus/ and build the index in $(DATA_DIR)
	$(BIN)/policy-assistant ingest --data-dir $(DATA_DIR)

serve: setup ## serve the API on 127.0.0.1:$(API_PORT)
	$(BIN)/policy-assistant serve --data-dir $(DATA_DIR) --port $(API_PORT)

demo: setup ## install, ingest if needed, serve the API and the UI on loopback
	$(BIN)/policy-assistant ingest --data-dir $(DATA_DIR)
	$(BIN)/policy-assistant demo --data-dir $(DATA_DIR) --api-port $(API_PORT) --ui-port $(UI_PORT)

eval: setup ## retrieval and answer benchmarks on evals/questions.jsonl
	$(BIN)/policy-assistant ingest --data-dir $(DATA_DIR)
	$(BIN)/policy-assistant eval --data-dir $(DATA_DIR) --retrieval --answers

bench: setup ## benchmarks: retrieval and answers, a 60 s load run, a 30 s flood and worker scaling, /v1 overhead (evals/)
	$(BIN)/policy-assistant ingest --data-dir $(DATA_DIR)
	$(BIN)/policy-assistant eval --data-dir $(DATA_DIR) --retrieval --answers
	$(BIN)/python -m evals.load --data-dir $(DATA_DIR) --clients 16 --duration 60
	$(BIN)/python -m evals.flood --data-dir $(DATA_DIR) --clients 64 --duration 30
	$(BIN)/python -m evals.openai_overhead --data-dir $(DATA_DIR)

clean: ## remove the data dir (the index); keeps .venv
	rm -rf $(DATA_DIR)
