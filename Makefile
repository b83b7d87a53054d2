# The two commands of the README, and the few others a developer needs.
#   make run     install what is missing, build, start a dev node (SQLite, dev API key)
#   make test    install what is missing, build, run every test suite
.PHONY: all deps build run test test-cpp test-js js-deps test-python py-deps test-model model-deps test-e2e e2e-deps test-docs asan bench format format-check error-catalog clean

PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
ITHACA := $(BUILD_DIR)/apps/ithaca/ithaca
E2E_DIR := tests/e2e
# npm rewrites node_modules/.package-lock.json on every install: older than the lock = stale.
E2E_STAMP := $(E2E_DIR)/node_modules/.package-lock.json
JS_DIR := sdks/js
JS_STAMP := $(JS_DIR)/node_modules/.package-lock.json
PY_DIR := sdks/python
PY_VENV := $(PY_DIR)/.venv
# Touched after each install: older than pyproject.toml = stale.
PY_STAMP := $(PY_VENV)/.installed
MODEL_DIR := sdks/model-python
MODEL_VENV := $(MODEL_DIR)/.venv
MODEL_STAMP := $(MODEL_VENV)/.installed
# The Python sources of model workers: the SDK, its examples, the test models.
MODEL_PY := $(MODEL_DIR) examples/models tests/models

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt CMakePresets.json
	cmake --preset $(PRESET)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(ITHACA) server --dev --listen $${ITHACA_LISTEN:-127.0.0.1:8080}

# The model worker venv comes first: the C++ model tests and the e2e tests run workers from it.
test: build model-deps test-cpp test-js test-python test-model test-docs test-e2e

# Every shell example of the README and docs/ run against a real `ithaca server --dev`
# (tests/docs/run_shell_examples.py says how blocks are marked).
test-docs: build
	python3 tests/docs/run_shell_examples.py --bin $(abspath $(ITHACA))

test-cpp:
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The JavaScript SDK: unit tests (node --test), then tsc over its hand-written .d.ts files.
test-js: js-deps
	cd $(JS_DIR) && node --test test/*.test.js && npm run -s typecheck

js-deps: $(JS_STAMP)

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund
	@touch $@

# The Python SDK: pytest (+ pytest-asyncio), then ruff, in a venv at sdks/python/.venv.
test-python: py-deps
	ITHACA_BIN=$(abspath $(ITHACA)) $(PY_VENV)/bin/pytest -q $(PY_DIR)/tests
	$(PY_VENV)/bin/ruff check $(PY_DIR)
	$(PY_VENV)/bin/ruff format --check $(PY_DIR)

py-deps: $(PY_STAMP)

$(PY_STAMP): $(PY_DIR)/pyproject.toml
	test -x $(PY_VENV)/bin/python || python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q -e '$(PY_DIR)[dev]'
	@touch $@

# The model worker SDK (docs/model-workers.md): pytest against a fake streamer, then ruff over
# the SDK, examples/models and tests/models, in a venv at sdks/model-python/.venv.
test-model: model-deps
	$(MODEL_VENV)/bin/pytest -q $(MODEL_DIR)/tests
	$(MODEL_VENV)/bin/ruff check $(MODEL_PY)
	$(MODEL_VENV)/bin/ruff format --check $(MODEL_PY)

model-deps: $(MODEL_STAMP)

$(MODEL_STAMP): $(MODEL_DIR)/pyproject.toml
	test -x $(MODEL_VENV)/bin/python || python3 -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/pip install -q -e '$(MODEL_DIR)[dev]'
	@touch $@

# Browser end-to-end tests (headless Chromium against `ithaca server --dev`), one file at a time.
test-e2e: e2e-deps
	cd $(E2E_DIR) && ITHACA_BIN=$(abspath $(ITHACA)) node --test --test-concurrency=1 *.test.mjs

e2e-deps: $(E2E_STAMP)

$(E2E_STAMP): $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --no-audit --no-fund
	@touch $@

asan:
	$(MAKE) test PRESET=asan

bench: build e2e-deps
	bench/run.sh $(BUILD_DIR)

format: e2e-deps py-deps model-deps
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
	cd $(E2E_DIR) && npm run -s format
	$(PY_VENV)/bin/ruff format $(PY_DIR) examples/python-backend tests/docs bench/model
	$(MODEL_VENV)/bin/ruff format $(MODEL_PY)

format-check: e2e-deps py-deps model-deps
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror
	cd $(E2E_DIR) && npm run -s format-check
	$(PY_VENV)/bin/ruff format --check $(PY_DIR) examples/python-backend tests/docs bench/model
	$(PY_VENV)/bin/ruff check examples/python-backend tests/docs bench/model
	$(MODEL_VENV)/bin/ruff format --check $(MODEL_PY)
	$(MODEL_VENV)/bin/ruff check $(MODEL_PY)

# The SDKs' copies of spec/errors.json (sdks/js/src/errors-catalog.js, sdks/python/ithaca/errors.json),
# rewritten after an edit of the catalog; the SDKs' tests fail while one is stale.
error-catalog:
	python3 scripts/gen_error_catalog.py

clean:
	rm -rf build
