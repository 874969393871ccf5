# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck imports validate build bench clean browser-test screenshot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)        ## the whole pipeline on an embedded AWS with local TLS origins
	$(VENV)/bin/origin-auditor demo

test: $(STAMP)        ## unit and integration tests (installs Debian's openssl for the s_server tests)
	@status=0; scripts/ensure_openssl.sh || status=$$?; \
	if [ $$status -ne 0 ] && [ $$status -ne 3 ]; then exit $$status; fi
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check functions lab tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)     ## the import rules in pyproject's [tool.importlinter] (layers; no lab in the runtime)
	$(VENV)/bin/lint-imports

bench: $(STAMP)       ## the six benchmarks; each prints its figures (see bench/README.md)
	$(PY) bench/bench_check.py
	$(PY) bench/bench_offers.py
	$(PY) bench/bench_audit.py
	$(PY) bench/bench_soak.py
	$(PY) bench/bench_state.py
	$(PY) bench/bench_org.py

# The HTML report in a real headless Chromium (tests/browser: the DOM Chromium built and the
# marks found in its screenshot). Installs Debian's chromium when missing and root; skips, saying
# why, only when it cannot (not root) outside CI; under CI=true that is a failure.
browser-test: $(STAMP)  ## --format html rendered and checked in headless Chromium
	@status=0; scripts/ensure_chromium.sh || status=$$?; \
	if [ $$status -eq 3 ]; then exit 0; elif [ $$status -ne 0 ]; then exit $$status; fi; \
	ORIGIN_AUDITOR_BROWSER_TEST=1 $(PY) -m pytest -q -p no:cacheprovider tests/browser

screenshot: $(STAMP)  ## rewrite docs/html-report.png (the README's) from the browser test's demo page
	ORIGIN_AUDITOR_UPDATE_SCREENSHOT=1 $(MAKE) browser-test

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache

# ---- Lambda bundle and SAM (sam-cli lives in its own venv: its pins conflict with the dev deps)
SAM_VENV ?= .venv-sam
# Pinned: a new SAM CLI release can change what `sam validate --lint` accepts under CI.
SAM_CLI_VERSION ?= 1.170.0
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
LAMBDA_PIP ?= $(PYTHON) -m pip

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q "aws-sam-cli==$(SAM_CLI_VERSION)"
	touch $@

sam-tools: $(SAM_STAMP)  ## install aws-sam-cli into .venv-sam

# Called by `sam build` (template Metadata BuildMethod: makefile, CodeUri: .) with ARTIFACTS_DIR:
# the locked wheels for the Lambda's platform plus the runtime package only (see the script).
# Organization mode (template-org.yaml): its three functions are the same bundle, other handlers.
build-ListAccountsFunction build-AccountAuditFunction build-AggregateFunction build-OriginAuditorFunction:
	LAMBDA_PIP="$(LAMBDA_PIP)" scripts/build_lambda.sh "$(ARTIFACTS_DIR)"

# Both deployments: single-account (template.yaml, the default) and organization mode
# (template-org.yaml, its state machine's definition, and the member role its StackSet deploys).
validate: $(SAM_STAMP)  ## sam validate --lint (offline) of every template, and the state machine definition
	$(SAM) validate --lint --region us-east-1 --template template.yaml
	$(SAM) validate --lint --region us-east-1 --template template-org.yaml
	$(SAM) validate --lint --region us-east-1 --template templates/member-role.yaml
	$(SAM_VENV)/bin/python scripts/lint_statemachine.py

build: $(SAM_STAMP)  ## sam build via the Makefile targets above (both templates)
	$(SAM) build --build-in-source --template template.yaml
	$(SAM) build --config-env org

# pip-audit needs PyPI's JSON API (vulnerability data). Where it is unreachable (offline CI, a
# mirror without it) scripts/audit_deps.py says "not audited" for every package (never "no known
# vulnerabilities") and passes; AUDIT_STRICT=1 turns unaudited packages into a failure.
audit-deps: $(STAMP)  ## known vulnerabilities in the locked runtime dependencies
	$(PY) scripts/audit_deps.py
.PHONY: sam-tools build-OriginAuditorFunction build-ListAccountsFunction build-AccountAuditFunction build-AggregateFunction audit-deps

lock: $(STAMP)  ## regenerate requirements.lock (Lambda platform wheels, hashes) at the tested versions
	$(PY) scripts/lock.py
.PHONY: lock

docs: $(STAMP)  ## regenerate the README's finding-code table and example messages (the demo's)
	$(PY) scripts/readme_codes.py
	$(PY) scripts/readme_examples.py
.PHONY: docs
