// file: checked sizes, whole-file reads, atomic writes.
#include "file.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
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
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size <= max_file_bytes) bytes.reserve(std::size_t(size)); // one allocation for a file of known size
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

std::string temporary_name(const std::string& path) {
    static std::atomic<std::uint64_t> counter{0};
    static const std::uint64_t salt = [] {
        std::random_device device;
        return (std::uint64_t(device()) << 32) ^ device();
    }();
    std::uint64_t z = salt ^ std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                      (++counter * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; // SplitMix64's mixing
    z ^= z >> 31;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(z));
    return path + ".tmp-" + hex;
}

namespace {

std::string reason() { return errno ? std::strerror(errno) : "unknown error"; }

// "a/b/" -> "a/b", and the same with Windows' '\\'; "/" stays "/".
std::string without_trailing_separators(std::string dir) {
    while (dir.size() > 1 && (dir.back() == '/' || dir.back() == '\\')) dir.pop_back();
    return dir;
}

// bytes -> tmp, or an exception naming `path` (the file the user asked for) and why.
void write_whole(const std::string& tmp, const std::string& path, const std::vector<std::uint8_t>& bytes) {
    errno = 0;
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error(path + ": cannot write (" + reason() + ")");
    const bool written = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const std::string why = written ? "" : reason();
    const bool flushed = std::fflush(f) == 0;
    const std::string flush_why = flushed ? "" : reason();
    const bool closed = std::fclose(f) == 0;
    if (!written || !flushed || !closed) {
        const std::string r = !written ? why : !flushed ? flush_why : reason();
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": write failed (" + r + ")");
    }
}

// std::filesystem::rename replaces an existing file on every platform (on
// Windows through MoveFileEx with MOVEFILE_REPLACE_EXISTING, where plain
// std::rename refuses); see docs/portability.md for what is atomic where.
void rename_into_place(const std::string& tmp, const std::string& path) {
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": cannot rename the temporary file into place (" + ec.message() + ")");
    }
}

} // namespace

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    if (path.empty()) throw std::runtime_error("an empty output path");
    const std::string tmp = temporary_name(path);
    write_whole(tmp, path, bytes);
    rename_into_place(tmp, path);
}

StagedFiles::~StagedFiles() {
    for (const auto& [tmp, path] : staged_) std::remove(tmp.c_str());
}

void StagedFiles::add(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    if (path.empty()) throw std::runtime_error("an empty output path");
    for (const auto& staged : staged_)
        if (staged.second == path) throw std::runtime_error(path + ": named twice as an output");
    const std::string tmp = temporary_name(path);
    write_whole(tmp, path, bytes);
    staged_.emplace_back(tmp, path);
}

void StagedFiles::commit() {
    while (!staged_.empty()) {
        const auto [tmp, path] = staged_.front();
        staged_.erase(staged_.begin());
        rename_into_place(tmp, path);
    }
}

void check_folder_output(const std::string& dir, const std::string& marker) {
    namespace fs = std::filesystem;
    if (dir.empty()) throw std::runtime_error("an empty output folder");
    const std::string target = without_trailing_separators(dir);
    std::error_code ec;
    if (fs::exists(target, ec)) {
        if (!fs::is_directory(target, ec)) throw std::runtime_error(dir + ": exists and is not a folder");
        if (!fs::is_empty(target, ec) && !fs::exists(fs::path(target) / marker, ec))
            throw std::runtime_error(dir + ": an existing folder without " + marker + "; name a new or empty folder");
    }
}

std::string write_folder_atomic(const std::string& dir, const std::string& marker,
                                const std::function<void(const std::string& tmp_dir)>& fill) {
    namespace fs = std::filesystem;
    check_folder_output(dir, marker);
    const std::string target = without_trailing_separators(dir);
    std::error_code ec;
    const std::string tmp = temporary_name(target), old = temporary_name(target);
    fs::create_directories(tmp, ec);
    if (ec) throw std::runtime_error(dir + ": cannot create a folder beside it (" + ec.message() + ")");
    try {
        fill(tmp);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
    const bool replace = fs::exists(target, ec);
    if (replace) fs::rename(target, old, ec);
    if (!ec) fs::rename(tmp, target, ec);
    if (ec) {
        const std::string why = ec.message();
        if (replace && !fs::exists(target)) fs::rename(old, target, ec); // put the old one back
        fs::remove_all(tmp, ec);
        throw std::runtime_error(dir + ": cannot move the new folder into place (" + why + ")");
    }
    if (!replace) return "";
    fs::remove_all(old, ec);
    std::error_code gone;
    if (!ec && !fs::exists(old, gone) && !gone) return "";
    return "the previous contents of " + dir + " could not be removed and are left at " + old +
           (ec ? " (" + ec.message() + ")" : "");
}

void check_output_path(const std::string& path, const std::string& what) {
    namespace fs = std::filesystem;
    if (path.empty()) throw std::runtime_error(what + ": an empty path");
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw std::runtime_error(what + " '" + path + "': is a folder, not a file");
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec))
        throw std::runtime_error(what + " '" + path + "': the folder " + parent.string() + " does not exist");
}

void check_not_same_file(const std::string& output, const std::string& input, const std::string& what) {
    std::error_code ec;
    if (std::filesystem::exists(output, ec) && std::filesystem::equivalent(output, input, ec) && !ec)
        throw std::runtime_error(what + " '" + output + "': is also an input; writing it would destroy that input");
}

} // namespace allconv
