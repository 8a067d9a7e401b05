// file: checked sizes, whole-file reads, atomic writes.
#include "file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace allconv {

std::size_t checked_size(std::uint64_t v, std::uint64_t limit, const std::string& what) {
    if (v > limit || v > std::uint64_t(std::numeric_limits<std::size_t>::max()))
        throw std::runtime_error(what + " is " + std::to_string(v) + ", more than the limit of " + std::to_string(limit));
    return std::size_t(v);
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, const std::string& what) {
    if (a != 0 && b > limit / a) throw std::runtime_error(what + " exceeds the limit of " + std::to_string(limit));
    return a * b;
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
        throw std::runtime_error(path + ": not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<std::uint8_t> bytes;
    char chunk[65536];
    while (in) { // in chunks, so a file that keeps growing cannot take all memory
        in.read(chunk, sizeof chunk);
        bytes.insert(bytes.end(), chunk, chunk + in.gcount());
        if (bytes.size() > max_file_bytes)
            throw std::runtime_error(path + ": larger than the limit of " + std::to_string(max_file_bytes) + " bytes");
    }
    if (in.bad()) throw std::runtime_error(path + ": read error");
    return bytes;
}

std::string read_text_file(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    return std::string(bytes.begin(), bytes.end());
}

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(path + ": cannot write (" + std::strerror(errno) + ")");
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        out.flush();
        if (!out) {
            std::remove(tmp.c_str());
            throw std::runtime_error(path + ": write failed");
        }
    }
    // std::filesystem::rename replaces an existing file on every platform (on
    // Windows through MoveFileEx with MOVEFILE_REPLACE_EXISTING, where plain
    // std::rename refuses); see docs/portability.md for what is atomic where.
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": cannot rename temporary file (" + ec.message() + ")");
    }
}

} // namespace allconv
