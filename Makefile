# Hangar: the two commands a newcomer needs are `make run` and `make test` (see README.md).
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
DATA_DIR  ?= ./hangar-data
LISTEN    ?= 127.0.0.1:9000
CMAKE_GEN := -G Ninja

.PHONY: deps configure build run test bench clean

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
test: deps
	cmake -S . -B $(ASAN_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DHANGAR_SANITIZE=ON \
	  -DHANGAR_BUILD_BENCH=OFF
	cmake --build $(ASAN_DIR)
	cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHANGAR_ASAN_BUILD_DIR=$(abspath $(ASAN_DIR))
	cmake --build $(BUILD_DIR)
	cd $(BUILD_DIR) && ctest --output-on-failure

# Benchmarks side by side with their peers (see bench/README.md).
bench: configure
	cmake --build $(BUILD_DIR) --target hangar kms_load s3_load
	python3 bench/kms_bench.py --policies --hangar $(BUILD_DIR)/hangar --kms-load $(BUILD_DIR)/bench/kms_load
	python3 bench/s3_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load
	python3 bench/sse_bench.py --hangar $(BUILD_DIR)/hangar --s3-load $(BUILD_DIR)/bench/s3_load

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
