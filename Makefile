# The two commands the README opens with. Both install what they need first.
.PHONY: flow test bench lint bootstrap
SPEC ?=
# pytest on every core, one test file per worker (module fixtures are built once): most
# tests run one single-threaded program at a time (ngspice, KLayout); TWINEDGE_JOBS=1 keeps
# the characterisations' side-by-side decks from running two per core under the workers
PYTEST_PAR ?= -n auto --dist loadfile

bootstrap:
	@bash scripts/bootstrap.sh

flow: bootstrap
	.venv/bin/twinedge flow $(SPEC)

test: bootstrap
	.venv/bin/ruff check twinedge tests benchmarks
	.venv/bin/lint-imports
	TWINEDGE_JOBS=$${TWINEDGE_JOBS:-1} .venv/bin/python -m pytest -q $(PYTEST_PAR) $(PYTEST_ARGS)

lint: bootstrap
	.venv/bin/ruff check twinedge tests benchmarks
	.venv/bin/lint-imports

bench: bootstrap
	.venv/bin/python benchmarks/bench_train.py
