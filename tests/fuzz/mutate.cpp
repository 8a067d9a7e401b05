// Structure-aware mutations for the fuzz targets: change what a parser must
// check (a shape, a count, a size, an offset, a value), keep the rest valid,
// so the fuzzer gets past checksums and magic numbers to the checks that matter.
#include <algorithm>
#include <cstring>
#include <string>

#include "io/bytes.hpp"
#include "io/npy.hpp"
#include "io/zip.hpp"
#include "rng.hpp"
#include "targets.hpp"

namespace allconv::fuzz {

namespace {

const char* const kNumbers[] = {"0",        "1",          "2",          "3",        "7",         "255",
                                "256",      "65535",      "65536",      "67108863", "99999999",  "2147483647",
                                "2147483648", "4294967295", "4294967296", "-1",     "1e300",     "01",
                                "1.",       "0.5",        "-0",         "nan",      "1e-320",    "999999999999"};

std::string interesting(Rng& rng) { return kNumbers[rng.below(sizeof kNumbers / sizeof kNumbers[0])]; }

// One run of digits in the text becomes an interesting number.
bool mutate_number(std::string& text, Rng& rng) {
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] >= '0' && text[i] <= '9') {
            std::size_t j = i;
            while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
            runs.emplace_back(i, j - i);
            i = j;
        } else {
            ++i;
        }
    }
    if (runs.empty()) return false;
    const auto [at, len] = runs[rng.below(std::uint32_t(runs.size()))];
    text.replace(at, len, interesting(rng));
    return true;
}

// The dict of a .npy file (after the 10-byte v1 preamble), mutated: a shape
// number, the dtype, or the data's length or values.
std::vector<std::uint8_t> mutate_npy(std::vector<std::uint8_t> b, Rng& rng) {
    if (b.size() < 10 || b[6] != 1) return b;
    const std::size_t hlen = load_le16(b.data() + 8);
    if (10 + hlen > b.size()) return b;
    std::string header(b.begin() + 10, b.begin() + long(10 + hlen));
    std::vector<std::uint8_t> data(b.begin() + long(10 + hlen), b.end());
    switch (rng.below(6)) {
    case 0: { // a shape number
        const std::size_t s = header.find("'shape'");
        if (s != std::string::npos) {
            std::string tail = header.substr(s);
            mutate_number(tail, rng);
            header = header.substr(0, s) + tail;
        }
        break;
    }
    case 1: { // another dtype
        const char* types[] = {"<f4", "<f8", ">f4", ">f8", "<i8", "<i4", "|u1", "<c8", "<f2", "O"};
        const std::size_t d = header.find("'descr': '");
        const std::size_t end = d == std::string::npos ? d : header.find('\'', d + 10);
        if (end != std::string::npos) header.replace(d + 10, end - d - 10, types[rng.below(10)]);
        break;
    }
    case 2: data.resize(data.empty() ? 0 : rng.below(std::uint32_t(data.size()))); break; // truncated
    case 3: data.resize(data.size() + 1 + rng.below(64), 0); break;                       // too long
    case 4: // a value becomes NaN, infinity or huge (as float or double bits)
        if (data.size() >= 8) {
            const std::size_t at = rng.below(std::uint32_t(data.size() - 7)) & ~std::size_t(3);
            const std::uint64_t specials[] = {0x7FF8000000000000ull, 0x7FF0000000000000ull, 0x7FC000007FC00000ull,
                                              0x7F8000007F800000ull, 0x7FEFFFFFFFFFFFFFull};
            std::uint64_t v = specials[rng.below(5)];
            for (int k = 0; k < 8; ++k) data[at + k] = std::uint8_t(v >> (8 * k));
        }
        break;
    default: header = header.substr(0, rng.below(std::uint32_t(header.size() + 1))); // a broken dict
    }
    std::vector<std::uint8_t> out(b.begin(), b.begin() + 8);
    append_le16(out, std::uint16_t(header.size()));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

// The architecture text inside a model's arch.npy.
std::vector<std::uint8_t> mutate_arch(const std::vector<std::uint8_t>& npy, Rng& rng) {
    try {
        const NpyArray a = npy_decode(npy.data(), npy.size(), "arch");
        std::string text = a.to_text();
        if (rng.below(4) == 0) {
            const char* lines[] = {"; conv 3 k1", "; maxpool k3 s2 p1", "; gap", "; softmax", "; relu", "; dropout 0.5",
                                   "; conv 25000 k1", "; conv 1024 k1 p67108863"};
            text += lines[rng.below(8)];
        } else {
            mutate_number(text, rng);
        }
        return npy_encode(NpyArray::from_bytes(text));
    } catch (const std::exception&) {
        return npy;
    }
}

// A zip-based file: one entry changed, or the entry list, or a field of the
// rebuilt archive's directory set to an interesting value.
bool mutate_zip(std::vector<std::uint8_t>& bytes, Rng& rng, ByteMutator byte_mutate) {
    std::vector<ZipEntry> entries;
    try {
        entries = zip_decode(bytes, "fuzz.zip");
    } catch (const std::exception&) {
        return false;
    }
    if (entries.empty()) return false;
    ZipEntry& e = entries[rng.below(std::uint32_t(entries.size()))];
    const auto ends = [&](const char* s) { return e.name.size() >= std::strlen(s) && e.name.compare(e.name.size() - std::strlen(s), std::strlen(s), s) == 0; };
    const std::uint32_t action = rng.below(10);
    if (action < 6) {
        if (e.name == "arch.npy" && action < 3) e.data = mutate_arch(e.data, rng);
        else if (ends(".npy")) e.data = mutate_npy(e.data, rng);
        else if (ends(".json")) {
            std::string text(e.data.begin(), e.data.end());
            if (!mutate_number(text, rng)) text += "x";
            e.data.assign(text.begin(), text.end());
        } else if (!e.data.empty()) {
            const std::size_t size = e.data.size();
            e.data.resize(2 * size + 16);
            e.data.resize(byte_mutate(e.data.data(), size, e.data.size()));
        }
    } else if (action == 6) {
        entries.push_back(e); // the same name twice
    } else if (action == 7) {
        entries.erase(entries.begin() + long(&e - entries.data()));
    } else if (action == 8) {
        e.name = rng.below(2) ? "../" + e.name : "/abs/" + e.name;
    }
    bytes = zip_encode(entries);
    if (action == 9 && bytes.size() >= 22) { // a directory field: a size, a count or an offset
        const std::size_t fields[] = {bytes.size() - 22 + 10, bytes.size() - 22 + 12, bytes.size() - 22 + 16};
        const std::size_t at = fields[rng.below(3)];
        const std::uint32_t values[] = {0, 1, 0xFFFF, 0xFFFFFFFFu, std::uint32_t(bytes.size()), 0x7FFFFFFFu};
        const std::uint32_t v = values[rng.below(6)];
        for (int k = 0; k < 4 && at + k < bytes.size(); ++k) bytes[at + k] = std::uint8_t(v >> (8 * k));
    }
    return true;
}

} // namespace

std::vector<std::uint8_t> mutate(const std::string& name, const std::vector<std::uint8_t>& bytes, std::uint32_t seed,
                                 ByteMutator byte_mutate, std::size_t max_size) {
    Rng rng(seed);
    std::vector<std::uint8_t> out = bytes;
    const bool structured = rng.below(4) != 0; // one time in four, plain byte mutations
    if (structured && (name == "npz" || name == "model" || name == "checkpoint" || name == "golden")) {
        if (mutate_zip(out, rng, byte_mutate) && out.size() <= max_size) return out;
        out = bytes;
    } else if (structured && (name == "spec" || name == "json")) {
        std::string text(bytes.begin(), bytes.end());
        if (mutate_number(text, rng) && text.size() <= max_size) return std::vector<std::uint8_t>(text.begin(), text.end());
    } else if (structured && (name == "npy" || name == "image") && bytes.size() > 6 && bytes[1] == 'N') {
        out = mutate_npy(bytes, rng);
        if (out.size() <= max_size) return out;
        out = bytes;
    } else if (structured && name == "idx" && bytes.size() >= 8) {
        const std::size_t dim = 4 + 4 * rng.below(std::uint32_t(std::min<std::size_t>(3, (bytes.size() - 4) / 4)));
        const std::uint32_t values[] = {0, 1, 28, 0xFFFFFFFFu, 0x7FFFFFFFu, 65536, 4097};
        const std::uint32_t v = values[rng.below(7)];
        for (int k = 0; k < 4; ++k) out[dim + k] = std::uint8_t(v >> (24 - 8 * k));
        return out;
    }
    out.resize(std::max(max_size, out.size()));
    out.resize(byte_mutate(out.data(), bytes.size(), out.size()));
    return out;
}

} // namespace allconv::fuzz
