# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INI ?= development.ini
PYTEST_ARGS ?=

.PHONY: run test bench bench-all install install-test initdb demo-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

# Stamp files re-run the install only when setup.cfg changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-testing: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[testing]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-testing

initdb: install
	$(BIN)/intranet initdb $(INI)

demo-data: initdb
	$(BIN)/intranet demo-data $(INI) --if-empty

# The web server and the background-job worker (campaign builds...) side by
# side; Ctrl-C (or the server stopping) stops the worker too (docs/operations.md).
run: demo-data
	$(BIN)/intranet worker $(INI) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/pserve $(INI)

test: install-test
	$(BIN)/ruff check intranet tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

# Numbers, never assertions: list/search/case-page latency at 300 vs 22,000
# cases, case-page throughput with and without the access log, next-call time
# at 22,000 and 220,000 cases, the campaign build at 22,000 and 220,000 cases
# (before/after issue 21), address search at 22,000 and 220,000 cases (with
# and without the trigram index), the case page over HTTP (waitress, 16
# connections) against a bare floor page, a batch of 2,000 dunning letters, the data-link
# import, the inspection export of 1,000,000 log entries (rows/s, peak memory),
# and the appends/s the access log's single chain head allows with 1, 2 and 4
# processes (docs/scaling.md).
# Each bench records its goals in $(BENCH_RESULTS); the last line prints
# them as one table (goal, before, measured, target, ratio, met or not).
BENCH_RESULTS ?= bench/.results.jsonl
# Benches loading the same demo data reuse this run's snapshot of it
# (bench/datacache.py); the snapshots are dropped at the end.
BENCH_CACHE ?= bench/.cache
bench: install-test
	rm -f $(BENCH_RESULTS)
	rm -rf $(BENCH_CACHE)
	INTRANET_BENCH_RESULTS=$(BENCH_RESULTS) INTRANET_BENCH_CACHE=$(abspath $(BENCH_CACHE)) \
		$(MAKE) --no-print-directory bench-all; status=$$?; \
		rm -rf $(BENCH_CACHE); $(BIN)/python bench/datacache.py; exit $$status
	$(BIN)/python bench/results.py $(BENCH_RESULTS)

bench-all:
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_access_log.py
	$(BIN)/python bench/bench_chain.py
	$(BIN)/python bench/bench_next_call.py
	$(BIN)/python bench/bench_campaign.py
	$(BIN)/python bench/bench_letters.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_inspection_export.py

clean:
	rm -rf $(VENV) *.egg-info intranet.sqlite
