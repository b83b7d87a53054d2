# The two commands of the README, and the few others a developer needs.
#   make run     install what is missing, build, start a dev node (SQLite, dev API key)
#   make test    install what is missing, build, run every test suite
.PHONY: all deps build run test test-cpp asan bench format format-check clean

PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
ITHACA := $(BUILD_DIR)/apps/ithaca/ithaca

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt CMakePresets.json
	cmake --preset $(PRESET)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(ITHACA) server --dev --listen $${ITHACA_LISTEN:-127.0.0.1:8080}

test: build test-cpp

test-cpp:
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

asan:
	$(MAKE) test PRESET=asan

bench: build
	bench/run.sh $(BUILD_DIR)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
