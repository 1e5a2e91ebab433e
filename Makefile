# A thin wrapper over CMake and CTest, so that the everyday commands are short:
#   make run        build, then run the whole stack in the foreground (Ctrl-C stops it)
#   make test       build, then run every test
# Other targets: build, test-asan, fuzz, fuzz-merge, bench, containers-test,
# format, format-check, clean.
# Each build flavour has its own directory, so switching between them never
# forces a full rebuild.

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# End-to-end tests start stacks on free ports in their own temporary data
# directories, so two may run at once.
TEST_JOBS ?= 2
# Seconds each libFuzzer target runs under `make fuzz`; with FUZZ_RUNS set,
# each runs that many inputs instead (the 10 M runs of a release check).
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
# The libFuzzer targets (only these are built in $(FUZZ_DIR)).
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/*_fuzz.c)))

# Sanitizer settings for `make test-asan`; a value already in the environment wins.
export ASAN_OPTIONS ?= detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

CTEST = ctest --output-on-failure -j$(TEST_JOBS)

.PHONY: all build run test test-asan fuzz fuzz-merge bench containers-test format format-check clean

all: build

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	exec deploy/run-stack.sh $(BUILD_DIR)

test: build
	$(CTEST) --test-dir $(BUILD_DIR)

test-asan:
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWH_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j$(JOBS)
	$(CTEST) --test-dir $(ASAN_DIR)

# Builds the libFuzzer targets with clang, then runs each for FUZZ_SECONDS on
# a copy of its seed corpus, so that new inputs land in $(FUZZ_DIR), not in
# the committed corpus. A crash stops the run and leaves crash-* files in
# $(FUZZ_DIR)/artifacts.
fuzz:
	CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DWH_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j$(JOBS) $(addprefix --target ,$(FUZZ_TARGETS))
	@set -e; found=0; mkdir -p $(FUZZ_DIR)/artifacts; \
	for src in tests/fuzz/*_fuzz.c; do \
	    [ -e "$$src" ] || continue; \
	    name=$$(basename "$$src" .c); found=1; \
	    mkdir -p $(FUZZ_DIR)/corpus/$$name; \
	    seeds=; [ -d tests/fuzz/corpus/$$name ] && seeds=tests/fuzz/corpus/$$name; \
	    echo "fuzz: $$name ($(FUZZ_LIMIT))"; \
	    $(FUZZ_DIR)/$$name $(FUZZ_LIMIT) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$name- \
	        $(FUZZ_DIR)/corpus/$$name $$seeds; \
	done; \
	[ $$found -eq 1 ] || echo "fuzz: no targets in tests/fuzz"

# After `make fuzz`: moves the inputs it found that reach code the committed
# corpus does not into tests/fuzz/corpus (libFuzzer's -merge keeps only
# those), to be reviewed and committed; the replay tests then run them too.
fuzz-merge:
	@set -e; for src in tests/fuzz/*_fuzz.c; do \
	    [ -e "$$src" ] || continue; \
	    name=$$(basename "$$src" .c); \
	    [ -d $(FUZZ_DIR)/corpus/$$name ] || continue; \
	    mkdir -p tests/fuzz/corpus/$$name; \
	    before=$$(ls tests/fuzz/corpus/$$name | wc -l); \
	    $(FUZZ_DIR)/$$name -merge=1 tests/fuzz/corpus/$$name $(FUZZ_DIR)/corpus/$$name 2>/dev/null; \
	    echo "fuzz-merge: $$name: $$before -> $$(ls tests/fuzz/corpus/$$name | wc -l) inputs"; \
	done

bench: build
	@if [ -x tests/bench/run.sh ]; then \
	    WH_BIN_DIR=$(abspath $(BUILD_DIR)) tests/bench/run.sh; \
	elif [ -e tests/bench/run.sh ]; then \
	    WH_BIN_DIR=$(abspath $(BUILD_DIR)) sh tests/bench/run.sh; \
	else \
	    echo "bench: tests/bench/run.sh does not exist yet"; \
	fi

# Builds the container image and runs the stack in containers with rootful
# podman (deploy/podman.sh installs what it needs), then checks it end to
# end. As root; minutes, so it is not part of `make test`.
containers-test:
	/usr/bin/python3 tests/containers/test_containers.py

# Formats every tracked C file with the committed .clang-format.
format:
	git ls-files -z -- '*.c' '*.h' | xargs -0 -r clang-format -i

# Fails if any tracked C file is not formatted; changes nothing.
format-check:
	git ls-files -z -- '*.c' '*.h' | xargs -0 -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
