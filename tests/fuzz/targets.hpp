// Fuzz targets: one per kind of file a stranger can hand allconv, each doing
// what the command line does with such a file. Shared by the libFuzzer
// binaries (fuzz_main.cpp) and by GoogleTest (tests/regressions_test.cpp),
// which replays every input under tests/regressions/<target>/.
//
// A target must return or throw a std::exception for every input; a crash,
// a sanitizer report, a hang or a runaway allocation is a bug.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace allconv::fuzz {

// npy npz inflate idx pnm json spec model checkpoint golden image onnx
const std::vector<std::string>& target_names();

// Runs target `name` on `bytes`; throws std::invalid_argument for an unknown name.
void run_target(const std::string& name, const std::vector<std::uint8_t>& bytes);

// A structure-aware mutation of `bytes` for target `name`: for zip-based
// files (npz, model, checkpoint, golden), one entry is taken apart and a
// shape, count, size, offset or value is changed, then the archive rebuilt
// with valid checksums; for text, a number becomes an interesting one. Falls
// back to `byte_mutate` (libFuzzer's own mutator) when the input does not parse.
using ByteMutator = std::size_t (*)(std::uint8_t* data, std::size_t size, std::size_t max_size);
std::vector<std::uint8_t> mutate(const std::string& name, const std::vector<std::uint8_t>& bytes, std::uint32_t seed,
                                 ByteMutator byte_mutate, std::size_t max_size);

} // namespace allconv::fuzz
