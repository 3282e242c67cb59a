# rettid — the two commands that matter: `make demo` and `make test`.
# Both work on a fresh Debian 12 / Raspberry Pi OS machine with only python3 and make.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# System packages the tests and the demo use (real broker, real gpsd, fonts, speech, PostgreSQL for the
# central record store's tests, headless Chromium for the month report's picture and the station web page;
# sox measures the spoken announcements, alsa-utils' aplay plays them on ALSA's null device).
SYSPKGS = mosquitto mosquitto-clients gpsd gpsd-clients fonts-dejavu-core espeak-ng openssl postgresql chromium \
	sox alsa-utils

.PHONY: all venv sysdeps test lint layers typecheck pytest demo bench clean help sample-feed school-feed school-img frieze-img arm64-check docs-img

all: help

help:
	@echo "make demo   - run the whole system in simulation, results in out/demo/"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - run the benchmarks (python -m bench)"
	@echo "make docs-img - regenerate docs/img/report-2026-11.png (synthetic fleet month, headless Chromium)"
	@echo "make frieze-img - regenerate the frieze pictures docs/img/frieze-*.png, led-*.png (docs/passenger-info.md)"
	@echo "make school-feed school-img - the school route's GTFS from its run file; the driver panel picture"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,central]'
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh $(SYSPKGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Dependencies only downwards, no cycles (the contracts in pyproject.toml [tool.importlinter]).
layers: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy transit hw signage onboard station central sim_bus demo bench

pytest: $(STAMP) sysdeps
	$(VENV)/bin/pytest -q

test: lint layers typecheck pytest

# Regenerate docs/img/report-2026-11.png: a synthetic fleet month on the sample feed (sim_bus month, seeded),
# its month report rendered by headless Chromium (deterministic data; commit the result).
docs-img: $(STAMP) sysdeps
	rm -rf out/docs-month
	$(PY) -m sim_bus month --operator data/operators/lokaltog.yaml --month 2026-11 --out out/docs-month
	$(PY) -m central report punctuality out/docs-month/unit-*.jsonl --month 2026-11 --format png \
		--png-size 1250x1800 -o docs/img/report-2026-11.png

# The school route's GTFS feed from its run file (docs/school-buses.md; commit the result).
school-feed: $(STAMP)
	$(PY) -m transit.runfile gtfs data/school/viborg-rute-12.yaml -o data/gtfs/viborg-school

# The driver's school panel at the ride-time warning of the simulated faulty run (docs/school-buses.md).
school-img: $(STAMP)
	$(PY) scripts/make_school_panel_img.py -o docs/img/school-panel-warning.png

# The frieze in each state (onboard.passinfo.showcase, the views of the display tests' reference images).
frieze-img: $(STAMP)
	$(PY) scripts/make_frieze_img.py --out docs/img

# Regenerate the sample GTFS feed data/gtfs/lokaltog-sample (deterministic; commit the result).
sample-feed: $(STAMP)
	$(PY) scripts/make_sample_feed.py

bench: $(STAMP) sysdeps
	$(PY) -m bench

# Optional, not in CI (~20 min, root): the project on arm64 Debian 12 under qemu, a replay compared with
# this machine's byte for byte (scripts/arm64-check.sh; docs/deploy.md).
arm64-check: $(STAMP)
	bash scripts/arm64-check.sh

demo: $(STAMP) sysdeps
	$(PY) -m demo --out out/demo

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
