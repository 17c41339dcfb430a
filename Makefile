# Signalement developer tasks. Every target works from a clean clone.
#   make venv      .venv with Python 3.13, 3.12 or 3.11 + requirements-dev.txt (re-installs when they change)
#   make messages  compile gettext catalogs (needs gettext when there are .po files)
#   make run       SQLite + demo data + Redis, then web, worker and beat under honcho
#   make test      lint, OpenAPI schema check, pytest on PostgreSQL (with the browser tests
#                  and a real nginx in front of the live server),
#                  pytest -m portable on SQLite
#   make test-fast the tests that need no service (rules, validation, hashing, addresses,
#                  settings, docs), with nothing running, in about 30 s; make test stays the whole truth
#   make lint      ruff check + ruff format --check + lint-imports (dependencies point one way)
#                  + mypy (pyproject.toml: the project, the moderation services, selectors
#                  and rules strict)
#   make format    ruff check --fix + ruff format
#   make bench     benchmarks (bench/), one after the other, each printing its JSON figures
#                  against a floor measured in the same run: admin_queue, report_throughput,
#                  time_to_block, readyz, image_pipeline, hash_match, limiter_memory
#                  (PostgreSQL and Redis)
#   make soak      10 minutes of mixed traffic on gunicorn + a worker, then errors, memory
#                  and consistency as JSON (SOAK_ARGS="--minutes 2 --rate 40")

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Targets run their steps in order even under make -j.
.NOTPARALLEL:

# The venv's python, ruff, pytest, honcho and celery come first on PATH,
# also for the processes honcho starts.
export VIRTUAL_ENV := $(CURDIR)/.venv
export PATH := $(VIRTUAL_ENV)/bin:$(PATH)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/signalement
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_THROTTLE_REDIS_URL ?= redis://127.0.0.1:6379/14
PORTABLE_DATABASE_URL := sqlite:///var/test-portable.sqlite3
PYTEST_ARGS ?=
TEST_ENV := REDIS_URL=$(TEST_REDIS_URL) THROTTLE_REDIS_URL=$(TEST_THROTTLE_REDIS_URL) \
    SECRET_KEY=test-secret-key DEBUG=0 HTTPS=0
# mypy's Django plugin imports the settings, which want a SECRET_KEY when DEBUG is off.
MYPY := SECRET_KEY=mypy-not-a-secret mypy
# pytest exits 5 when nothing is selected: fine for the portable run when
# PYTEST_ARGS narrowed the selection, an error otherwise.
PORTABLE_OK_RC := $(if $(strip $(PYTEST_ARGS)),5,0)

.PHONY: help venv messages run test test-fast lint format bench soak

help:
	@sed -n 's/^#   //p' Makefile

venv:
	@scripts/ensure-venv

messages: venv
	@scripts/compile-messages

run: export DEBUG := 1
# The demo trusts one proxy, so that one machine can play several readers with
# X-Forwarded-For (README, "Try it"); anonymous readers on one address are one person.
run: export TRUSTED_PROXY_COUNT := 1
run: venv messages
	@mkdir -p var
	@rm -rf var/metrics && mkdir -p var/metrics
	@scripts/ensure-redis
	python manage.py migrate
	python manage.py load_demo
	@# The web process and the worker add up their figures at /metrics (docs/operations.md, "Metrics").
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/metrics honcho start -f Procfile

test: venv messages
	@mkdir -p var
	@scripts/ensure-postgres $(TEST_DATABASE_URL)
	@scripts/ensure-redis --system $(TEST_REDIS_URL)
	@scripts/ensure-chromium
	@scripts/ensure-nginx
	ruff check .
	ruff format --check .
	lint-imports --no-logo
	$(MYPY)
	DATABASE_URL=$(TEST_DATABASE_URL) $(TEST_ENV) \
	    python manage.py spectacular --lang en --validate --fail-on-warn --file /dev/null
	DATABASE_URL=$(TEST_DATABASE_URL) $(TEST_ENV) pytest $(PYTEST_ARGS)
	DATABASE_URL=$(PORTABLE_DATABASE_URL) $(TEST_ENV) pytest -m portable $(PYTEST_ARGS) \
	    || [[ $$? == $(PORTABLE_OK_RC) ]]

# tests/conftest.py marks "fast" every test that asks for no database, Redis, worker or
# browser. The URLs point nowhere, so that a test reaching a service fails here instead of
# passing because one happens to run.
test-fast: venv messages
	DATABASE_URL=sqlite:///var/nowhere/test-fast.sqlite3 REDIS_URL=redis://127.0.0.1:1/0 \
	    THROTTLE_REDIS_URL=redis://127.0.0.1:1/1 SECRET_KEY=test-secret-key DEBUG=0 HTTPS=0 \
	    pytest -m fast -p no:cacheprovider $(PYTEST_ARGS)

# The server and credentials only: each bench creates and drops a database of its own
# (its name contains "bench"). Of Redis, the host and port: each HTTP bench takes two
# databases of its own (report_throughput 5 and 4, time_to_block 7 and 6, readyz 9 and 8,
# soak 3 and 2). limiter_memory starts a redis-server of its own.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
    SECRET_KEY=bench-secret-key DEBUG=0 HTTPS=0
SOAK_ARGS ?=

bench: venv messages
	@scripts/ensure-postgres $(BENCH_DATABASE_URL)
	@scripts/ensure-redis --system $(BENCH_REDIS_URL)
	$(BENCH_ENV) python bench/admin_queue.py
	$(BENCH_ENV) python bench/report_throughput.py
	$(BENCH_ENV) python bench/time_to_block.py
	$(BENCH_ENV) python bench/readyz.py
	$(BENCH_ENV) python bench/image_pipeline.py
	$(BENCH_ENV) python bench/hash_match.py
	$(BENCH_ENV) python bench/limiter_memory.py

soak: venv messages
	@scripts/ensure-postgres $(BENCH_DATABASE_URL)
	@scripts/ensure-redis --system $(BENCH_REDIS_URL)
	$(BENCH_ENV) python bench/soak.py $(SOAK_ARGS)

lint: venv
	ruff check .
	ruff format --check .
	lint-imports --no-logo
	$(MYPY)

format: venv
	ruff check --fix .
	ruff format .
