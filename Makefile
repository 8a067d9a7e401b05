# allconv: plain C++17, standard library only (GoogleTest for the tests).
#
#   make              build/allconv
#   make test         every test suite (installs GoogleTest first when it can)
#   make demo         visualize the shipped model on the sample images -> out/demo.png
#   make bench        the speed table (a benchmark, never a test)
#   make bench-peers  the same against PyTorch and ONNX Runtime, as ratios
#   make sanitize     the test suite under AddressSanitizer + UBSan
#   make fuzz         libFuzzer on every parser (clang), FUZZ_SECONDS each (default 20)
#   make portability  every Debian compiler and CPU (cross + qemu, MinGW + wine)
#   make mutants      backend bugs the golden suite must catch (tools/mutants.txt)
#   make compare-pooling   the paper's pooling-vs-stride comparison -> docs/results.md
#   make install PREFIX=DIR   static library, headers, pkg-config file
#   make clean
#
#   CXX=clang++ make test     another compiler (cross compilers too: CXX=aarch64-linux-gnu-g++
#                             RUN="qemu-aarch64 -L /usr/aarch64-linux-gnu" GTEST=source)
#   make PORTABLE=1           baseline-ISA binary (no -march=native)
#   make BUILD=build-clang    a separate build folder
#   make STATIC=1             a statically linked binary
#   make WERROR=1             warnings are errors (CI does this; a plain make does not,
#                             so a newer compiler's new warning never stops a user's build)

SHELL := /bin/bash
# Build on every core unless told otherwise (make -j1 ...).
MAKEFLAGS += --jobs=$(shell nproc 2>/dev/null || echo 2)
CXX ?= g++
BUILD ?= build
PORTABLE ?= 0
WERROR ?= 0
RUN ?=

# ---- what the compiler targets, and the flags that exist there -------------
TARGET := $(shell $(CXX) -dumpmachine 2>/dev/null)
accepts = $(shell echo 'int main() {}' | $(CXX) $(1) -x c++ -E - >/dev/null 2>&1 && echo '$(1)')
X86 := $(if $(filter x86_64% i386% i486% i586% i686%,$(TARGET)),1,)
X86_32 := $(if $(filter i386% i486% i586% i686%,$(TARGET)),1,)
EXE := $(if $(findstring mingw,$(TARGET)),.exe,)

ARCH_FLAGS := $(if $(filter 1,$(PORTABLE)),,$(call accepts,-march=native))
# 32-bit x86: the x87 unit rounds to 80 bits, so results (and golden files)
# would differ from every other CPU; SSE2 arithmetic rounds each operation to
# float or double as IEEE 754 says. Every x86 CPU since 2003 has SSE2.
ifeq ($(X86_32),1)
ARCH_FLAGS += -msse2 -mfpmath=sse
endif

WARNINGS := -Wall -Wextra -Wpedantic $(if $(filter 1,$(WERROR)),-Werror,)
# -ffp-contract=off: no fused multiply-add unless asked for, so the reference
# loops (and the golden files) give the same bits with every compiler and CPU.
CXXFLAGS ?= -O2 -g
ALL_CXXFLAGS = -std=c++17 $(WARNINGS) $(CXXFLAGS) $(ARCH_FLAGS) -ffp-contract=off $(EXTRA_FLAGS) -pthread -MMD -MP
# The fast matrix multiply may fuse: it is compared with the reference to a tolerance.
FAST_FLAGS := -O3 -ffp-contract=fast $(if $(X86),$(call accepts,-mprefer-vector-width=512),)
LDLIBS := -pthread
# STATIC=1 links statically (MinGW always: no runtime DLLs to ship next to
# allconv.exe; the i686 portability row too: qemu-user 7.2 hangs when a
# dynamically linked 32-bit x86 program starts a thread).
ifneq ($(EXE)$(filter 1,$(STATIC)),)
LDLIBS += -static
endif

LIB_SRC := $(wildcard src/*.cpp src/*/*.cpp)
TOOL_SRC := $(wildcard tools/*.cpp)
TEST_SRC := $(wildcard tests/*_test.cpp) tests/fuzz/targets.cpp
LIB_OBJ := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
TOOL_OBJ := $(TOOL_SRC:%.cpp=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
ALLCONV := $(BUILD)/allconv$(EXE)

# ---- GoogleTest: the system's (libgtest-dev), or built from its sources ----
# GTEST=source builds it with $(CXX) from /usr/src/googletest (Debian's
# googletest package), which is what a cross compiler needs.
GTEST_SRC ?= /usr/src/googletest/googletest
GTEST_HEADER := $(firstword $(wildcard /usr/include/gtest/gtest.h /usr/local/include/gtest/gtest.h))
GTEST ?= $(if $(GTEST_HEADER),system,source)
ifeq ($(GTEST),source)
GTEST_LIBS := $(BUILD)/gtest/libgtest.a
GTEST_INC := -isystem $(GTEST_SRC)/include
else
GTEST_LIBS := -lgtest -lgtest_main
GTEST_INC :=
endif

.PHONY: all test demo bench bench-peers sanitize fuzz install clean deps portability mutants compare-pooling
all: $(ALLCONV)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -Isrc -Itests $(if $(filter tests/%,$<),$(GTEST_INC),) -c $< -o $@

$(BUILD)/obj/src/fast/gemm.o $(BUILD)/obj/src/fast/conv_fast.o $(BUILD)/obj/src/fast/conv_views.o $(BUILD)/obj/src/fast/conv_views_weights.o \
  $(BUILD)/obj/src/fast/phase_copy.o $(BUILD)/obj/src/fast/conv_backward_input.o $(BUILD)/obj/src/fast/packed_weights.o \
  $(BUILD)/obj/src/fast/peak.o $(BUILD)/obj/src/fast/winograd.o: ALL_CXXFLAGS += $(FAST_FLAGS)
# The fast path runs the ReLU and max-pool loops of src/layers/ as they are. At -O2
# g++ does not vectorise them (clang does); -O3 does, and cannot change a bit: it
# never reorders or fuses floating-point operations (-ffp-contract=off stays).
$(BUILD)/obj/src/layers/relu.o $(BUILD)/obj/src/layers/pool.o: ALL_CXXFLAGS += -O3

$(BUILD)/liballconv.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ALLCONV): $(TOOL_OBJ) $(BUILD)/liballconv.a
	$(CXX) $(ALL_CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/gtest/libgtest.a: | deps
	@mkdir -p $(BUILD)/gtest
	$(CXX) -std=c++17 -O1 $(ARCH_FLAGS) $(EXTRA_FLAGS) -pthread -isystem $(GTEST_SRC)/include -I$(GTEST_SRC) \
	  -c $(GTEST_SRC)/src/gtest-all.cc -o $(BUILD)/gtest/gtest-all.o
	$(CXX) -std=c++17 -O1 $(ARCH_FLAGS) $(EXTRA_FLAGS) -pthread -isystem $(GTEST_SRC)/include -I$(GTEST_SRC) \
	  -c $(GTEST_SRC)/src/gtest_main.cc -o $(BUILD)/gtest/gtest_main.o
	ar rcs $@ $(BUILD)/gtest/gtest-all.o $(BUILD)/gtest/gtest_main.o

# What the tests need: GoogleTest (and the dataset for the training tests).
# Installed with apt-get when this user may (root or passwordless sudo);
# otherwise the one command to run is printed.
deps:
	@GTEST=$(GTEST) GTEST_SRC=$(GTEST_SRC) bash tools/deps.sh

$(BUILD)/tests$(EXE): $(TEST_OBJ) $(BUILD)/liballconv.a $(if $(filter source,$(GTEST)),$(GTEST_LIBS),) | deps
	$(CXX) $(ALL_CXXFLAGS) $(TEST_OBJ) $(BUILD)/liballconv.a -o $@ $(GTEST_LIBS) $(LDLIBS)

$(TEST_OBJ): | deps

# How the tests start the command line (a cross build under wine needs the bare .exe path).
TEST_ALLCONV ?= $(strip $(RUN) $(ALLCONV))
# The suite runs in TEST_SHARDS parts side by side (one per core, at most 4; one under wine).
TEST_SHARDS ?= $(if $(EXE),1,$(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n > 4 ? 4 : n ))))
test: $(BUILD)/tests$(EXE) $(ALLCONV)
	cd $(CURDIR) && ALLCONV="$(TEST_ALLCONV)" bash tools/run_tests.sh $(BUILD)/tests$(EXE) $(TEST_SHARDS) $(RUN)
	EXTRA_FLAGS="$(EXTRA_FLAGS) $(ARCH_FLAGS)" LDLIBS="$(LDLIBS)" RUN="$(RUN)" bash tests/install_test.sh $(CXX) $(BUILD)

# The static library, public headers (include/allconv/, the tree of src/) and a pkg-config file.
PREFIX ?= /usr/local
install: $(BUILD)/liballconv.a
	install -d $(PREFIX)/lib/pkgconfig $(PREFIX)/include/allconv
	install -m 644 $(BUILD)/liballconv.a $(PREFIX)/lib/
	cd src && for h in $$(find . -name '*.hpp'); do install -D -m 644 $$h $(abspath $(PREFIX))/include/allconv/$$h; done
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: allconv\nDescription: reference layers of the All Convolutional Net and its visualization rules\nVersion: 1.0\nCflags: -I$${includedir} -std=c++17\nLibs: -L$${libdir} -lallconv -pthread\n' '$(abspath $(PREFIX))' > $(PREFIX)/lib/pkgconfig/allconv.pc

sanitize:
	$(MAKE) BUILD=build-sanitize EXTRA_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# libFuzzer (clang), one binary per kind of file a stranger can hand us
# (tests/fuzz/targets.cpp), with structure-aware mutations (mutate.cpp); each
# runs FUZZ_SECONDS on the committed corpus tests/fuzz/corpus/<target>, seeds
# made from the project's own files (a model, a checkpoint, a golden suite)
# and what earlier runs found (build-fuzz/corpus_<target>). FUZZ_JOBS at a time.
FUZZ_SECONDS ?= 20
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_TARGETS := npy npz inflate idx pnm json spec model checkpoint golden image onnx
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS := -std=c++17 -O1 -g $(FUZZ_SAN) -Isrc -Itests -pthread
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.cpp=build-fuzz/obj/%.o) build-fuzz/obj/fuzz/targets.o build-fuzz/obj/fuzz/mutate.o
FUZZ_BINS := $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

build-fuzz/obj/fuzz/%.o: tests/fuzz/%.cpp
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/obj/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/fuzz_%: tests/fuzz/fuzz_main.cpp $(FUZZ_LIB_OBJ)
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -DFUZZ_NAME='"$*"' $< $(FUZZ_LIB_OBJ) -o $@

$(BUILD)/fuzz-seeds: tests/fuzz/seeds.cpp $(BUILD)/liballconv.a
	$(CXX) $(ALL_CXXFLAGS) -Isrc $^ -o $@ $(LDLIBS)

.SECONDARY: $(FUZZ_LIB_OBJ)
fuzz: $(FUZZ_BINS) $(BUILD)/fuzz-seeds
	@$(BUILD)/fuzz-seeds build-fuzz/seeds >/dev/null
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash tools/fuzz.sh $(FUZZ_TARGETS)

portability:
	bash tools/portability.sh

# Backend bugs the golden suite must catch (tools/mutants.txt): each must fail golden check.
mutants:
	python3 tools/mutants.py --build $(BUILD) --cxx $(CXX)

bench: $(ALLCONV)
	$(ALLCONV) bench

# allconv against PyTorch and ONNX Runtime (when present), alternating rounds, as ratios.
bench-peers: $(ALLCONV)
	bash tools/bench_peers.sh $(ALLCONV)

demo: $(ALLCONV)
	@bash tools/demo.sh $(ALLCONV)

compare-pooling: $(ALLCONV)
	bash tools/compare_pooling.sh $(ALLCONV)

clean:
	rm -rf build build-* out

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
