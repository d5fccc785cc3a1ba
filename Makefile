# Two entry points: `make run` (the service with its embedded MongoDB, demo bot and admin
# panel) and `make test` (the whole suite). Both create or refresh .venv themselves: `run`
# installs what the service needs, `test` adds the test toolchain (pytest, Playwright,
# schemathesis, ruff, mypy…) and Debian's chromium.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTED := $(VENV)/.installed-test

.PHONY: run test lint venv browser i18n

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(STAMP)

$(TESTED): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(TESTED)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/smart-routing serve

browser:
	@command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# the admin panel's words to translate (admin/translations/messages.pot), merged into each
# language's messages.po for translators; the service reads the .po files as they are
i18n: $(STAMP)
	$(BIN)/python -m admin.pages.word_catalogue

lint: $(TESTED)
	$(BIN)/ruff check config routing_core connectors admin bots tests bench
	$(BIN)/mypy routing_core connectors

test: $(TESTED) browser lint
	$(BIN)/python -m pytest -q -p no:cacheprovider
