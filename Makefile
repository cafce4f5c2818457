# Hangar: the two commands a newcomer needs are `make run` and `make test` (see README.md).
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
DATA_DIR  ?= ./hangar-data
LISTEN    ?= 127.0.0.1:9000
CMAKE_GEN := -G Ninja
FUZZ_SECONDS ?= 60
# The sanitizer tree: clang++ with ASan+UBSan; it builds the unit tests and the fuzz targets.
ASAN_CONFIG := -DCMAKE_BUILD_TYPE=Debug -DHANGAR_SANITIZE=ON -DHANGAR_BUILD_BENCH=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DHANGAR_FUZZ=ON -DHANGAR_CONSOLE=OFF

.PHONY: deps configure build run test fuzz asan-configure bench clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHANGAR_ASAN_BUILD_DIR=$(abspath $(ASAN_DIR))

# The server binary only.
build: configure
	cmake --build $(BUILD_DIR) --target hangar

# Install, build and start the server on the embedded default (SQLite + files in DATA_DIR).
run: build
	./scripts/run.sh $(BUILD_DIR)/hangar $(DATA_DIR) $(LISTEN)

# Install, build (release and ASan+UBSan) and run every test: unit, sanitizer, end-to-end.
test: asan-configure
	cmake --build $(ASAN_DIR)
	cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHANGAR_ASAN_BUILD_DIR=$(abspath $(ASAN_DIR))
	cmake --build $(BUILD_DIR)
	cd $(BUILD_DIR) && ctest --output-on-failure

# Each libFuzzer target (tests/fuzz) for FUZZ_SECONDS from its seed corpus, in the sanitizer tree.
fuzz: asan-configure
	cmake --build $(ASAN_DIR) --target fuzz_targets
	tests/fuzz/run.sh --build-dir $(ASAN_DIR) --seconds $(FUZZ_SECONDS)

# A sanitizer tree configured with another compiler (g++ before the fuzz targets) cannot switch
# in place: start it afresh.
asan-configure: deps
	@if [ -f $(ASAN_DIR)/CMakeCache.txt ] && \
	    ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' $(ASAN_DIR)/CMakeCache.txt; then \
	  echo "$(ASAN_DIR) was configured with another compiler; removing it"; rm -rf $(ASAN_DIR); fi
	cmake -S . -B $(ASAN_DIR) $(CMAKE_GEN) $(ASAN_CONFIG)

# Benchmarks side by side with their peers (see bench/README.md).
bench: configure
	cmake --build $(BUILD_DIR) --target hangar kms_load s3_load
	python3 bench/hot_paths.py --hangar $(BUILD_DIR)/hangar --kms-load $(BUILD_DIR)/bench/kms_load --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/kms_bench.py --policies --hangar $(BUILD_DIR)/hangar --kms-load $(BUILD_DIR)/bench/kms_load
	python3 bench/kms_sign_bench.py --hangar $(BUILD_DIR)/hangar --kms-load $(BUILD_DIR)/bench/kms_load
	python3 bench/s3_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/sse_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/s3_versioning_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/audit_bench.py --hangar $(BUILD_DIR)/hangar --kms-load $(BUILD_DIR)/bench/kms_load --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/cluster_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
