// file: whole files in and out, and how much a file may make allconv read or
// allocate. Every reader of a format starts from read_file_bytes; every
// writer ends in write_file_atomic.
//
// Limits are 64-bit constants, compared in 64-bit arithmetic before anything
// is converted to size_t, so a check means the same on 32- and 64-bit hosts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../tensor.hpp" // max_tensor_elements

namespace allconv {

// Any file read whole, any decompressed stream, any array in a file: 1 GiB.
constexpr std::uint64_t max_file_bytes = std::uint64_t(1) << 30;

// v as a size_t, after checking v <= limit (and that this host can address it);
// otherwise std::runtime_error("<what> is N, more than the limit of L").
std::size_t checked_size(std::uint64_t v, std::uint64_t limit, const std::string& what);
// a * b, or std::runtime_error naming `what` when the product exceeds limit.
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit, const std::string& what);

// The whole file. Throws std::runtime_error("<path>: <problem>") when it is
// missing, not a regular file, unreadable or larger than max_file_bytes.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);
std::string read_text_file(const std::string& path);

// Writes to a temporary file with a unique name in the same folder, then
// renames it over `path`, so a reader sees the old file or the new one, never
// half of one. Errors name the path and the system's reason ("No space left
// on device"); the temporary file is removed.
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);

// Several files, all or nothing: add() writes each to a unique temporary name
// in its target's folder, commit() renames them all into place; files added to
// a StagedFiles that is destroyed before commit() are removed. (A rename can
// still fail half way through commit(); after every write has succeeded that
// takes a failing file system, and what was renamed stays complete.)
class StagedFiles {
public:
    StagedFiles() = default;
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;
    ~StagedFiles();
    void add(const std::string& path, const std::vector<std::uint8_t>& bytes);
    void commit();

private:
    std::vector<std::pair<std::string, std::string>> staged_; // (temporary, final)
};

// The checks write_folder_atomic makes of `dir` before it replaces it, on
// their own: to refuse a wrong target before doing the work that fills it.
void check_folder_output(const std::string& dir, const std::string& marker);

// A folder written all or nothing: fill() writes into a fresh temporary
// folder beside `dir`, which then replaces `dir` (an existing `dir` must hold
// `marker`, so a suite never replaces an unrelated folder). On failure the
// temporary folder is removed and `dir` is untouched. Returns "" or, when the
// folder it replaced could not be removed afterwards (on Windows, say, a path
// longer than the C runtime allows), a sentence saying where that one is left.
std::string write_folder_atomic(const std::string& dir, const std::string& marker,
                                const std::function<void(const std::string& tmp_dir)>& fill);

// Checks, before any work is done, that `path` can be written as an output:
// not empty, not a folder, in a folder that exists. Throws std::runtime_error
// ("<what> '<path>': <problem>").
void check_output_path(const std::string& path, const std::string& what);
// Throws when `output` names the same file as `input` (by any path).
void check_not_same_file(const std::string& output, const std::string& input, const std::string& what);

// A name no other writer picks: "<path>.tmp-<16 hex digits>".
std::string temporary_name(const std::string& path);

} // namespace allconv
