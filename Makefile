# Thin entry point over CMake; see README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CONFIG ?= config/chatd.json
CMAKE_FLAGS ?=
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build run test test-asan test-tsan test-all install deb bench fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) $(if $(wildcard $(BUILD_DIR)/CMakeCache.txt),,$(GENERATOR)) \
		-DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR)

run: build
	$(BUILD_DIR)/chatd/chatd --config $(CONFIG)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

# The same suite under sanitizers, each in its own build tree.
test-asan:
	@$(MAKE) --no-print-directory test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_FLAGS="-DCHAT_SANITIZE=address,undefined"

test-tsan:
	@$(MAKE) --no-print-directory test BUILD_DIR=build-tsan BUILD_TYPE=Debug CMAKE_FLAGS="-DCHAT_SANITIZE=thread"

test-all: test test-asan test-tsan

# chatd against tar|nc, rsync, cp and a raw UDP pair, in a release build.
# BENCH_FLAGS: e.g. --runs 3, --tiny.
BENCH_FLAGS ?= --runs 5
bench: deps
	@cmake -S . -B build-bench $(if $(wildcard build-bench/CMakeCache.txt),,$(GENERATOR)) \
		-DCMAKE_BUILD_TYPE=Release -DCHAT_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-bench
	python3 bench/bench.py --build build-bench --json build-bench/bench.json $(BENCH_FLAGS)

# libFuzzer targets (clang) for datagrams, control requests, manifests,
# paths and a job's parameters, each run FUZZ_SECONDS from the seeds in
# tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	@cmake -S . -B build-fuzz $(if $(wildcard build-fuzz/CMakeCache.txt),,$(GENERATOR) -DCMAKE_CXX_COMPILER=clang++) \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAT_FUZZ=ON -DCHAT_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-fuzz
	scripts/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

# DESTDIR works as usual: make install DESTDIR=/tmp/stage
install: build
	cmake --install $(BUILD_DIR)

# A Debian package for /usr, built in release mode in its own tree.
deb: deps
	@cmake -S . -B build-deb $(if $(wildcard build-deb/CMakeCache.txt),,$(GENERATOR)) \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DCHAT_BUILD_TESTS=OFF >/dev/null
	@cmake --build build-deb
	cd build-deb && cpack -G DEB

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-asan build-tsan build-deb build-bench build-fuzz
