# make demo : install everything, build the lab, run the checks against it, tear it down
#             (KEEP=1 keeps the lab up afterwards)
# make test : install everything and run the whole test suite
VENV := .venv
STETH := $(VENV)/bin/steth

.PHONY: setup demo test test-unit clean-lab

setup:
	bash scripts/setup.sh

demo: setup
	$(STETH) lab demo $(if $(KEEP),--keep,)

test: setup
	$(VENV)/bin/python -m pytest -ra $(PYTEST_ARGS)

test-unit: setup
	$(VENV)/bin/python -m pytest -ra tests/unit

clean-lab:
	-$(STETH) lab down
