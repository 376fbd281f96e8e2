# Two commands on a fresh machine: `make train` then `make test`. `make help` lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ML1M_ZIP ?=
DATASET ?= ml-1m
DATA_ZIP ?= $(ML1M_ZIP)
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
UI_PORT ?= 8501
API_URL ?= http://$(HOST):$(PORT)
ARTIFACTS_DIR ?= artifacts
TRAIN_ARGS ?=
SEEDS ?= 42 7 123
EVAL_ARGS ?=
TUNE_BUDGET ?= 45
TUNE_ARGS ?=
SETTINGS ?=
export ML1M_ZIP DATASET DATA_ZIP ARTIFACTS_DIR

.PHONY: help venv data train tune holdout seeds evaluate serve ui up test test-unit bench lint notebooks browser postgres clean

help: ## List every target
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  Variables: DATASET=ml-1m|ml-100k|ml-latest-small|ml-20m|ml-25m|ml-32m (default ml-1m), DATA_ZIP=path/to/its.zip"
	@echo "             (local archive; default: download the official one; ML1M_ZIP still works for ml-1m), HOST, PORT, ARTIFACTS_DIR,"
	@echo "             WORKERS=N (uvicorn worker processes for serve/up, default 1), API_URL, TRAIN_ARGS, EVAL_ARGS, PEERS_ARGS"
	@echo "             SETTINGS=path/to/settings.json or none (default training/tuned/DATASET.json when it exists), TUNE_BUDGET=minutes, TUNE_ARGS"

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed ## Create .venv and install the pinned requirements

data: venv ## Get DATASET (default ml-1m; DATA_ZIP/ML1M_ZIP or official download, md5-checked), validate, build the parquet cache
	$(PY) -m training.data

train: data ## Train retrieval + ranker with training/tuned/DATASET.json's settings (else a choice pass), learn the final stage on the validation period, evaluate against the peers, export the bundle to artifacts/
	$(PY) -m training.train --output $(ARTIFACTS_DIR) $(if $(SETTINGS),--settings $(SETTINGS)) $(TRAIN_ARGS)

tune: data ## Choose DATASET's settings with Optuna on its validation period in TUNE_BUDGET minutes (default 45; TUNE_ARGS), then whether the learned final stage pays; writes training/tuned/DATASET.json (TUNE_ARGS=--final-stage-only: that check alone)
	$(PY) -m training.tune --budget $(TUNE_BUDGET) $(TUNE_ARGS)

holdout: data ## make train fitted on the training period's first 80%, judged on its last 20% (where settings are chosen; the test split is never read); bundle in ARTIFACTS_DIR/holdout/
	$(PY) -m training.train --holdout 0.2 --output $(ARTIFACTS_DIR)/holdout $(TRAIN_ARGS)

seeds: data ## make train under each of SEEDS (default 42 7 123; TRAIN_ARGS), no peers; each figure per seed, mean and spread in ARTIFACTS_DIR/seeds/summary.md (tools.seeds)
	$(PY) -m tools.seeds --seeds $(SEEDS) --output $(ARTIFACTS_DIR)/seeds $(TRAIN_ARGS)

evaluate: venv ## Re-evaluate the bundle in ARTIFACTS_DIR on the test split, or a make holdout bundle on its held-out period (EVAL_ARGS; report in reports/<version>/)
	$(PY) -m training.evaluate --bundle $(ARTIFACTS_DIR) $(EVAL_ARGS)

.PHONY: peers
peers: data ## Item/user-KNN, MF, EASE, popularity, bias, transitions on both protocols (PEERS_ARGS; JSON in reports/peers.json)
	$(PY) -m training.peers --out reports/peers.json $(PEERS_ARGS)

serve: venv ## Start the API with uvicorn on HOST:PORT (default 127.0.0.1:8000), WORKERS processes (default 1)
	$(PY) -m serving --host $(HOST) --port $(PORT) --workers $(WORKERS)

ui: venv ## Start the Streamlit UI on 0.0.0.0:8501 (API_URL, default http://127.0.0.1:8000)
	API_URL=$(API_URL) $(VENV)/bin/streamlit run ui/app.py --server.address 0.0.0.0 --server.port $(UI_PORT) --server.headless true

up: venv ## Start API and UI together; Ctrl-C stops both
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) -m serving --host $(HOST) --port $(PORT) --workers $(WORKERS) & \
	API_URL=$(API_URL) $(VENV)/bin/streamlit run ui/app.py --server.address 0.0.0.0 --server.port $(UI_PORT) --server.headless true & \
	wait

test: venv ## Run the whole test suite (integration tests too when ML1M_ZIP is set)
	$(PY) -m pytest -q

test-unit: venv ## Only the fast tests on synthetic data (no real archive, browser or serve-only install)
	$(PY) -m pytest -q -m "not integration and not browser and not packaging"

bench: venv ## Benchmark the serving hot path over HTTP and in-process (needs a trained bundle), then the top-K backends (tools.bench, tools.bench_topk)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || echo "warning: no wrk; its rows are left out"
	$(PY) -m tools.bench --artifacts $(ARTIFACTS_DIR)
	$(PY) -m tools.bench_topk

lint: venv ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

notebooks: venv ## Execute the notebooks and write HTML copies to notebooks/html/
	$(PY) -m training.notebooks --html notebooks/html

browser: ## Install Debian's chromium + chromedriver for the browser test (needs root)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

postgres: ## Install Debian's postgresql for the PostgreSQL store tests (needs root)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql)

clean: ## Remove caches, the venv, extracted data and the built bundle
	rm -rf $(VENV) .pytest_cache .ruff_cache data/raw data/processed notebooks/html tests/output reports
	find artifacts -mindepth 1 ! -name README.md ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

SIM_ARGS ?=
.PHONY: simulate
simulate: venv ## Replay test-period ratings through the API as live traffic, A/B of policies (SIM_ARGS; reports/simulation/; tools.simulate)
	$(PY) -m tools.simulate --artifacts $(ARTIFACTS_DIR) $(SIM_ARGS)
