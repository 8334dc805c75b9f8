# gbvstats: every target creates the virtual environment when it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
GBV := $(BIN)/gbvstats
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow forms lint bench venv clean-demo report-image

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PY) not found); set PY=..."; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m gbvstats.demo.run

# one worker per CPU (pytest-xdist); a module's tests stay on one worker, sharing its fixtures
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests were collected"; exit 1; fi; exit $$rc

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m slow

forms: $(STAMP)
	$(GBV) forms build

lint: $(STAMP)
	$(BIN)/ruff check gbvstats tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.bench_validate
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.bench_gate
	$(BIN)/python -m bench.bench_serve
	$(BIN)/python -m bench.bench_release
	$(BIN)/python -m bench.bench_sdc

report-image: $(STAMP)
	$(BIN)/python docs/img/report_image.py

clean-demo:
	rm -rf data/demo data/warehouse data/published
