# The README's commands: `make run` starts the demo portal, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The test suite runs on PostgreSQL when this server is reachable, and always on SQLite.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/epayment
# CI sets REQUIRE_POSTGRES=1: an unreachable PostgreSQL then fails the run instead of being skipped.
REQUIRE_POSTGRES ?= 0
# Where `make run` serves: `make run PORT=8001` (or HOST=0.0.0.0 to reach it from another machine).
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint chromium xmlsec1 screenshots property bench-settle bench-account bench-desk bench-bridge bench-http clean

$(VENV)/.installed: pyproject.toml | xmlsec1
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

.env:
	cp .env.example .env

run: $(VENV)/.installed .env xmlsec1
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Portal: http://$(HOST):$(PORT)   Staff desk: http://$(HOST):$(PORT)/desk/   Admin: http://$(HOST):$(PORT)/admin/"
	$(PY) manage.py runserver $(HOST):$(PORT)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@if [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "== Installing Chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Browser tests need Chromium: sudo apt-get install chromium (they fail without it)" >&2; \
		fi; \
	fi

# SAML sign-in (pysaml2) signs and checks XML signatures with Debian's xmlsec1.
xmlsec1:
	@if ! command -v "$${SAML_XMLSEC_BINARY:-xmlsec1}" >/dev/null; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "== Installing xmlsec1 for the SAML sign-in"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
		else \
			echo "SAML sign-in and its tests need xmlsec1: sudo apt-get install xmlsec1 (they fail without it)" >&2; \
		fi; \
	fi

test: $(VENV)/.installed .env chromium xmlsec1
	@if $(PY) -c "import psycopg, sys; psycopg.connect(sys.argv[1].rsplit('/', 1)[0] + '/postgres', connect_timeout=5).close()" "$(TEST_DATABASE_URL)" 2>/dev/null; then \
		echo "== Test suite on PostgreSQL ($(TEST_DATABASE_URL))"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS) || exit 1; \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "PostgreSQL at $(TEST_DATABASE_URL) is not reachable, and REQUIRE_POSTGRES=1." >&2; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(TEST_DATABASE_URL): its run is SKIPPED"; \
	fi
	@echo "== Test suite on SQLite"
	DATABASE_URL="sqlite:///$(CURDIR)/db.sqlite3" $(PY) -m pytest $(PYTEST_ARGS)

# The stateful property test of the money rules at ten times the steps CI runs (PostgreSQL).
property: $(VENV)/.installed .env
	MONEY_MACHINE_STEPS=20000 DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest tests/property -q -p no:cacheprovider

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench-settle: $(VENV)/.installed .env
	$(PY) bench/settle.py

# Key pages at desktop and phone width into docs/screenshots/ (for the README).
screenshots: $(VENV)/.installed .env chromium
	SCREENSHOTS_DIR=docs/screenshots DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest tests/e2e/test_screenshots.py -q -p no:cacheprovider

bench-account: $(VENV)/.installed .env
	$(PY) bench/account.py

bench-desk: $(VENV)/.installed .env
	$(PY) bench/desk.py

bench-bridge: $(VENV)/.installed .env
	cd bench && ../$(PY) bridge.py

# The busy pages over HTTP (gunicorn, wrk) beside a bare Django app; installs wrk when root.
bench-http: $(VENV)/.installed .env
	$(PY) bench/http_pages.py

clean:
	rm -rf $(VENV) db.sqlite3* .test-db.sqlite3* staticfiles
