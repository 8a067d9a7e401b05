// idx: header checks first, then one copy of the payload.
#include "idx.hpp"

#include <stdexcept>

#include "bytes.hpp"
#include "inflate.hpp"
#include "file.hpp"

namespace allconv {

namespace {

// Checks the magic; returns the dimensions and the file size they promise.
std::vector<std::uint32_t> dimensions(const std::vector<std::uint8_t>& b, const std::string& name, int dims,
                                      std::uint64_t& expected) {
    if (b.size() < 4 + 4u * dims) throw std::runtime_error(name + ": truncated IDX header");
    if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != dims)
        throw std::runtime_error(name + ": not an IDX file of unsigned bytes with " + std::to_string(dims) +
                                 " dimensions (bad magic)");
    std::vector<std::uint32_t> d;
    std::uint64_t payload = 1;
    for (int i = 0; i < dims; ++i) {
        d.push_back(load_be32(b.data() + 4 + 4 * i));
        payload *= d.back(); // at most 2^30 * 2^32: no overflow
        if (payload > max_file_bytes) throw std::runtime_error(name + ": IDX dimensions are absurdly large");
    }
    expected = 4 + 4u * dims + payload;
    return d;
}

// The IDX file, gunzipped when it is gzip: never to more than its header promises.
std::vector<std::uint8_t> read_idx_file(const std::string& path, int dims) {
    std::vector<std::uint8_t> bytes = read_file_bytes(path);
    if (!is_gzip(bytes)) return bytes;
    std::uint64_t expected = 0;
    dimensions(gunzip_prefix(bytes, path, 4 + 4u * dims), path, dims, expected);
    return gunzip(bytes, path, std::size_t(expected));
}

// Checks magic and size; returns the dimensions.
std::vector<std::uint32_t> header(const std::vector<std::uint8_t>& b, const std::string& name, int dims) {
    std::uint64_t expected = 0;
    std::vector<std::uint32_t> d = dimensions(b, name, dims, expected);
    if (b.size() != expected)
        throw std::runtime_error(name + ": IDX header promises " + std::to_string(expected) + " bytes but the file has " +
                                 std::to_string(b.size()) + (b.size() < expected ? " (truncated)" : ""));
    return d;
}

} // namespace

IdxImages parse_idx_images(const std::vector<std::uint8_t>& bytes, const std::string& name) {
    std::vector<std::uint32_t> d = header(bytes, name, 3);
    if (d[1] == 0 || d[2] == 0 || d[1] > 4096 || d[2] > 4096)
        throw std::runtime_error(name + ": implausible image size " + std::to_string(d[1]) + "x" + std::to_string(d[2]));
    IdxImages im;
    im.count = int(d[0]);
    im.rows = int(d[1]);
    im.cols = int(d[2]);
    im.pixels.assign(bytes.begin() + 16, bytes.end());
    return im;
}

std::vector<std::uint8_t> parse_idx_labels(const std::vector<std::uint8_t>& bytes, const std::string& name,
                                           int classes) {
    header(bytes, name, 1);
    std::vector<std::uint8_t> labels(bytes.begin() + 8, bytes.end());
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] >= classes)
            throw std::runtime_error(name + ": label " + std::to_string(labels[i]) + " of item " + std::to_string(i) +
                                     " is outside 0.." + std::to_string(classes - 1));
    return labels;
}

IdxImages read_idx_images(const std::string& path) { return parse_idx_images(read_idx_file(path, 3), path); }

std::vector<std::uint8_t> read_idx_labels(const std::string& path, int classes) {
    return parse_idx_labels(read_idx_file(path, 1), path, classes);
}

} // namespace allconv
