// libFuzzer entry points: one binary per target (FUZZ_NAME, see make fuzz),
// with the structure-aware mutator of mutate.cpp beside libFuzzer's own.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>

#include "targets.hpp"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        allconv::fuzz::run_target(FUZZ_NAME, std::vector<std::uint8_t>(data, data + size));
    } catch (const std::exception&) {
        // A clear error is the right answer to bad input.
    }
    return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    const std::vector<std::uint8_t> in(data, data + size);
    std::vector<std::uint8_t> out;
    try {
        out = allconv::fuzz::mutate(FUZZ_NAME, in, seed, LLVMFuzzerMutate, max_size);
    } catch (const std::exception&) {
        out = in;
    }
    const std::size_t n = std::min(out.size(), max_size);
    if (n) std::memcpy(data, out.data(), n);
    return n;
}
