# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
# Everything runs in the virtual environment uv builds from uv.lock (never re-locked here).

SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_FROZEN := 1
# uv from PATH, else the one `make uv` installs into python3.12.
UV := $(shell command -v uv 2>/dev/null || echo "python3.12 -m uv")
HOST_PORT ?= 127.0.0.1:8000

.PHONY: help uv sync run test lint format

help:
	@echo "make run     create .venv from uv.lock, migrate, load demo data, serve on http://$(HOST_PORT)"
	@echo "make test    create .venv from uv.lock and run the whole test suite (pytest)"
	@echo "make lint    ruff check, ruff format --check, and the layer contracts (lint-imports)"
	@echo "make format  ruff format and ruff check --fix"

uv:
	@command -v uv >/dev/null 2>&1 || python3.12 -m uv --version >/dev/null 2>&1 \
		|| python3.12 -m pip install --quiet uv

sync: uv
	$(UV) sync --frozen

# The embedded default: SQLite file in the project folder, Celery tasks run in process.
run: export DEBUG := 1
run: sync
	$(UV) run python manage.py migrate --noinput
	$(UV) run python manage.py seed_demo --url http://$(HOST_PORT)/
	$(UV) run python manage.py runserver $(HOST_PORT)

# Extra pytest arguments: make test PYTEST_ARGS="-k worker -x"
test: sync
	$(UV) run pytest $(PYTEST_ARGS)

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports --no-cache

format: sync
	$(UV) run ruff format .
	$(UV) run ruff check --fix .
