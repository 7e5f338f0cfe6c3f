# Two commands matter: `make demo` and `make test`. Everything else is for benchmarks and upkeep.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test test-fast demo system-deps bench bench-callback bench-fanout bench-ledger bench-push bench-events \
        bench-campaign bench-load bench-memory clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# Two test processes (pytest-xdist), each on its own database: most tests wait on Redis, processes or a browser.
test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider -n 2

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "not e2e and not browser"

demo: $(STAMP)
	@bash scripts/system-deps.sh fonts-wqy-microhei fonts-noto-color-emoji
	$(PY) -m bot demo --processes $(or $(N),1)

bench: bench-callback bench-fanout bench-ledger bench-push bench-events bench-campaign bench-load bench-memory

bench-callback: $(STAMP)
	@bash scripts/system-deps.sh wrk
	$(PY) -m bench.callback

bench-fanout: $(STAMP)
	$(PY) -m bench.fanout

bench-ledger: $(STAMP)
	$(PY) -m bench.ledger

bench-push: $(STAMP)
	$(PY) -m bench.push
	$(PY) -m bench.scans

bench-events: $(STAMP)
	$(PY) -m bench.events

bench-campaign: $(STAMP)
	$(PY) -m bench.campaign

bench-load: $(STAMP)
	@bash scripts/system-deps.sh wrk
	$(PY) -m bench.load

bench-memory: $(STAMP)
	$(PY) -m bench.memory

clean:
	rm -rf $(VENV) var build *.egg-info test-output
