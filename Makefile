# allconv: plain C++17, standard library only (GoogleTest for the tests).
#
#   make              build/allconv
#   make test         every GoogleTest suite (needs libgtest-dev)
#   make demo         visualize the shipped model on the sample images -> out/demo.png
#   make bench        the speed table (a benchmark, never a test)
#   make sanitize     the test suite under AddressSanitizer + UBSan
#   make fuzz         libFuzzer on every parser (clang), FUZZ_SECONDS each (default 20)
#   make compare-pooling   the paper's pooling-vs-stride comparison -> docs/results.md
#   make install PREFIX=DIR   static library, headers, pkg-config file
#   make clean
#
#   CXX=clang++ make test     another compiler
#   make PORTABLE=1           baseline-ISA binary (no -march=native)
#   make BUILD=build-clang    a separate build folder

SHELL := /bin/bash
# Build on every core unless told otherwise (make -j1 ...).
MAKEFLAGS += --jobs=$(shell nproc 2>/dev/null || echo 2)
CXX ?= g++
BUILD ?= build
PORTABLE ?= 0

ifeq ($(PORTABLE),1)
ARCH_FLAGS :=
else
ARCH_FLAGS := -march=native
endif

WARNINGS := -Wall -Wextra -Wpedantic -Werror
# -ffp-contract=off: no fused multiply-add unless asked for, so the reference
# loops (and the golden files) give the same bits with g++ and clang++.
CXXFLAGS ?= -O2 -g
ALL_CXXFLAGS = -std=c++17 $(WARNINGS) $(CXXFLAGS) $(ARCH_FLAGS) -ffp-contract=off $(EXTRA_FLAGS) -pthread -MMD -MP
# The fast matrix multiply may fuse: it is compared with the reference to a tolerance.
FAST_FLAGS := -O3 -ffp-contract=fast -mprefer-vector-width=512
LDLIBS := -pthread

LIB_SRC := $(wildcard src/*.cpp)
TOOL_SRC := $(wildcard tools/*.cpp)
TEST_SRC := $(wildcard tests/*_test.cpp)
LIB_OBJ := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
TOOL_OBJ := $(TOOL_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)

GTEST_HEADER := $(firstword $(wildcard /usr/include/gtest/gtest.h /usr/local/include/gtest/gtest.h))

.PHONY: all test demo bench sanitize fuzz install clean check-gtest compare-pooling
all: $(BUILD)/allconv

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -Isrc -Itests -c $< -o $@

$(BUILD)/obj/src/gemm.o $(BUILD)/obj/src/conv_fast.o: ALL_CXXFLAGS += $(FAST_FLAGS)

$(BUILD)/liballconv.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/allconv: $(TOOL_OBJ) $(BUILD)/liballconv.a
	$(CXX) $(ALL_CXXFLAGS) $^ -o $@ $(LDLIBS)

check-gtest:
	@if [ -z "$(GTEST_HEADER)" ]; then \
	  echo "GoogleTest is missing. Install it with:  sudo apt-get install libgtest-dev"; exit 1; fi

$(BUILD)/tests: $(TEST_OBJ) $(BUILD)/liballconv.a | check-gtest
	$(CXX) $(ALL_CXXFLAGS) $^ -o $@ -lgtest -lgtest_main $(LDLIBS)

$(TEST_OBJ): | check-gtest

test: check-gtest $(BUILD)/tests $(BUILD)/allconv
	cd $(CURDIR) && ALLCONV=$(BUILD)/allconv $(BUILD)/tests
	EXTRA_FLAGS="$(EXTRA_FLAGS)" bash tests/install_test.sh $(CXX) $(BUILD)

# The static library, public headers (include/allconv/) and a pkg-config file.
PREFIX ?= /usr/local
install: $(BUILD)/liballconv.a
	install -d $(PREFIX)/lib/pkgconfig $(PREFIX)/include/allconv
	install -m 644 $(BUILD)/liballconv.a $(PREFIX)/lib/
	install -m 644 src/*.hpp $(PREFIX)/include/allconv/
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: allconv\nDescription: reference layers of the All Convolutional Net and its visualization rules\nVersion: 1.0\nCflags: -I$${includedir} -std=c++17\nLibs: -L$${libdir} -lallconv -pthread\n' '$(abspath $(PREFIX))' > $(PREFIX)/lib/pkgconfig/allconv.pc

sanitize:
	$(MAKE) BUILD=build-sanitize EXTRA_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer harnesses (clang), one per parser, each run for FUZZ_SECONDS on
# its seed corpus in tests/fuzz/corpus/<name> (new finds go to build-fuzz/).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := npy npz inflate idx pnm spec json
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS := -std=c++17 -O1 -g $(FUZZ_SAN) -Isrc -pthread
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.cpp=build-fuzz/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

build-fuzz/obj/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/fuzz_%: tests/fuzz/fuzz_parsers.cpp $(FUZZ_LIB_OBJ)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -DFUZZ_NAME='"$*"' $< $(FUZZ_LIB_OBJ) -o $@

.SECONDARY: $(FUZZ_LIB_OBJ)
fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus_$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    build-fuzz/corpus_$$t tests/fuzz/corpus/$$t > build-fuzz/fuzz_$$t.log 2>&1; \
	  status=$$?; \
	  grep -E "stat::number_of_executed_units|ERROR|SUMMARY" build-fuzz/fuzz_$$t.log; \
	  if [ $$status -ne 0 ]; then echo "fuzz_$$t FAILED (log: build-fuzz/fuzz_$$t.log)"; exit 1; fi; \
	done

bench: $(BUILD)/allconv
	$(BUILD)/allconv bench

demo: $(BUILD)/allconv
	@bash tools/demo.sh $(BUILD)/allconv

compare-pooling: $(BUILD)/allconv
	bash tools/compare_pooling.sh $(BUILD)/allconv

clean:
	rm -rf build build-* out

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
