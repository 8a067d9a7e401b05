// libFuzzer harnesses for every parser that reads outside data. One source,
// one binary per parser: the parser is chosen at compile time by FUZZ_NAME
// (make fuzz builds them all). Each parser must either return or throw a
// std::exception; anything else (crash, sanitizer report, hang, runaway
// allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "net/arch.hpp"
#include "io/idx.hpp"
#include "io/image.hpp"
#include "io/inflate.hpp"
#include "io/json.hpp"
#include "io/npy.hpp"

namespace {

void run(const std::vector<std::uint8_t>& bytes) {
    using namespace allconv;
    const std::string text(bytes.begin(), bytes.end());
    const std::string target = FUZZ_NAME;
    if (target == "npy") npy_decode(bytes.data(), bytes.size(), "fuzz.npy");
    if (target == "npz") npz_decode(bytes, "fuzz.npz");
    if (target == "inflate") {
        if (is_gzip(bytes)) gunzip(bytes, "fuzz.gz", 1 << 24);
        else inflate_raw(bytes.data(), bytes.size(), "fuzz.deflate", 1 << 24);
    }
    if (target == "idx") {
        if (bytes.size() > 3 && bytes[3] == 1) parse_idx_labels(bytes, "fuzz.idx", 10);
        else parse_idx_images(bytes, "fuzz.idx");
    }
    if (target == "pnm") parse_pnm(bytes, "fuzz.pgm");
    if (target == "spec") parse_arch(text, "fuzz.spec");
    if (target == "json") parse_json(text, "fuzz.json");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        run(std::vector<std::uint8_t>(data, data + size));
    } catch (const std::exception&) {
        // A clear error is the right answer to bad input.
    }
    return 0;
}
