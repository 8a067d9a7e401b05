// zip: a minimal writer and a careful reader of the zip container.
#include "zip.hpp"

#include <set>
#include <stdexcept>

#include "bytes.hpp"
#include "file.hpp"
#include "inflate.hpp"

namespace allconv {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndRecord = 0x06054b50;
constexpr std::uint32_t kZip64EndRecord = 0x06064b50, kZip64Locator = 0x07064b50;

void put16(std::vector<std::uint8_t>& o, std::uint32_t v) { append_le16(o, std::uint16_t(v)); }
void put32(std::vector<std::uint8_t>& o, std::uint32_t v) { append_le32(o, v); }

// The file's bytes, read only through checked offsets: every read first
// checks that [at, at + width) lies inside the file, in 64-bit arithmetic.
class Bytes {
public:
    Bytes(const std::vector<std::uint8_t>& f, const std::string& name) : f_(f), name_(name) {}
    std::uint64_t size() const { return f_.size(); }
    [[noreturn]] void fail(const std::string& problem) const { throw std::runtime_error(name_ + ": " + problem); }
    const std::uint8_t* at(std::uint64_t offset, std::uint64_t width, const char* what) const {
        if (offset > f_.size() || f_.size() - offset < width)
            fail(std::string(what) + " lies outside the file (truncated or corrupt zip)");
        return f_.data() + offset;
    }
    std::uint32_t u16(std::uint64_t o, const char* what) const { return load_le16(at(o, 2, what)); }
    std::uint32_t u32(std::uint64_t o, const char* what) const { return load_le32(at(o, 4, what)); }
    std::uint64_t u64(std::uint64_t o, const char* what) const { return load_le64(at(o, 8, what)); }

private:
    const std::vector<std::uint8_t>& f_;
    const std::string& name_;
};

// Where the central directory is, and how many entries it lists.
struct Directory {
    std::uint64_t entries, size, offset;
};

Directory find_directory(const Bytes& f) {
    // The end record (22 bytes + a comment of up to 65535) closes the file.
    if (f.size() < 22) f.fail("not a zip/npz file (too short)");
    std::uint64_t end = f.size() - 22;
    const std::uint64_t lowest = end > 65535 ? end - 65535 : 0;
    while (f.u32(end, "end record") != kEndRecord) {
        if (end == lowest) f.fail("not a zip/npz file (no end-of-directory record)");
        --end;
    }
    Directory d{f.u16(end + 10, "end record"), f.u32(end + 12, "end record"), f.u32(end + 16, "end record")};
    if (d.entries == 0xFFFF || d.size == 0xFFFFFFFFu || d.offset == 0xFFFFFFFFu) { // ZIP64: the real values are elsewhere
        if (end < 20 || f.u32(end - 20, "ZIP64 locator") != kZip64Locator) f.fail("missing ZIP64 locator");
        const std::uint64_t z = f.u64(end - 20 + 8, "ZIP64 locator");
        if (f.u32(z, "ZIP64 end record") != kZip64EndRecord) f.fail("bad ZIP64 end record");
        d = Directory{f.u64(z + 32, "ZIP64 end record"), f.u64(z + 40, "ZIP64 end record"), f.u64(z + 48, "ZIP64 end record")};
    }
    f.at(d.offset, d.size, "central directory");
    if (d.entries > d.size / 46) f.fail("entry count larger than the directory can hold");
    return d;
}

// One central-directory record, with ZIP64 sizes and offset resolved.
struct Record {
    std::string name;
    std::uint32_t method, crc;
    std::uint64_t compressed, size, local;
    std::uint64_t length; // of the record itself
};

Record read_record(const Bytes& f, std::uint64_t p, std::uint64_t dir_end) {
    if (f.u32(p, "central directory") != kCentralHeader) f.fail("corrupt central directory");
    Record r{};
    r.method = f.u16(p + 10, "central directory");
    r.crc = f.u32(p + 16, "central directory");
    r.compressed = f.u32(p + 20, "central directory");
    r.size = f.u32(p + 24, "central directory");
    const std::uint64_t name_len = f.u16(p + 28, "central directory"), extra_len = f.u16(p + 30, "central directory");
    const std::uint64_t comment_len = f.u16(p + 32, "central directory");
    r.local = f.u32(p + 42, "central directory");
    r.length = 46 + name_len + extra_len + comment_len;
    if (r.length > dir_end - p) f.fail("corrupt central directory (a record runs past its end)");
    const std::uint8_t* name = f.at(p + 46, name_len, "entry name");
    r.name.assign(reinterpret_cast<const char*>(name), name_len);
    // ZIP64 extra field (id 1): the fields that read 0xFFFFFFFF, in the order size, compressed, offset.
    for (std::uint64_t x = p + 46 + name_len, extra_end = x + extra_len; extra_end - x >= 4;) {
        const std::uint64_t id = f.u16(x, "extra field"), len = f.u16(x + 2, "extra field");
        std::uint64_t q = x + 4;
        if (len > extra_end - q) f.fail(r.name + ": corrupt extra field");
        const std::uint64_t field_end = q + len;
        if (id == 1) {
            for (std::uint64_t* v : {&r.size, &r.compressed, &r.local})
                if (*v == 0xFFFFFFFFu && field_end - q >= 8) {
                    *v = f.u64(q, "ZIP64 extra field");
                    q += 8;
                }
        }
        x = field_end;
    }
    return r;
}

// The entry's bytes, unpacked and checked against its CRC-32.
std::vector<std::uint8_t> entry_data(const Bytes& f, const Record& r, const std::string& where,
                                     const ZipSizeCheck& size_check) {
    if (f.u32(r.local, "local header") != kLocalHeader) f.fail(r.name + ": bad local header");
    const std::uint64_t data = r.local + 30 + f.u16(r.local + 26, "local header") + f.u16(r.local + 28, "local header");
    const std::uint8_t* bytes = f.at(data, r.compressed, "entry data");
    std::vector<std::uint8_t> body;
    if (r.method == 0) {
        if (r.compressed != r.size) f.fail(r.name + ": stored entry sizes disagree");
        body.assign(bytes, bytes + checked_size(r.size, max_file_bytes, where + ": entry size"));
    } else if (r.method == 8) {
        // Never more than the header declares: a bomb stops at its declared size.
        const std::size_t size = checked_size(r.size, max_file_bytes, where + ": declared size");
        if (size_check) {
            const std::vector<std::uint8_t> first = inflate_prefix(bytes, std::size_t(r.compressed), where, 4096);
            const std::uint64_t says = size_check(where, first);
            if (says != 0 && says != r.size)
                f.fail(r.name + ": declared size " + std::to_string(r.size) + " is not the " + std::to_string(says) +
                       " bytes its header needs");
        }
        body = inflate_raw(bytes, std::size_t(r.compressed), where, size);
        if (body.size() != size) f.fail(r.name + ": size mismatch after inflate");
    } else {
        f.fail(r.name + ": unsupported compression method " + std::to_string(r.method));
    }
    if (crc32(body.data(), body.size()) != r.crc) f.fail(r.name + ": CRC-32 mismatch (corrupt)");
    return body;
}

} // namespace

std::vector<std::uint8_t> zip_encode(const std::vector<ZipEntry>& entries) {
    std::vector<std::uint8_t> out, central;
    for (const ZipEntry& e : entries) {
        const std::uint32_t crc = crc32(e.data.data(), e.data.size());
        if (e.data.size() >= 0xFFFFFFFFu || out.size() >= 0xFFFFFFFFu || e.name.size() > 0xFFFF)
            throw std::runtime_error("zip entry too large: " + e.name);
        const std::uint32_t offset = std::uint32_t(out.size()), size = std::uint32_t(e.data.size());
        // local header: signature, version 2.0, no flags, stored, time 0, date 1980-01-01, crc, sizes, name length, no extra
        put32(out, kLocalHeader);
        for (std::uint32_t v : {20u, 0u, 0u, 0u, 0x21u}) put16(out, v);
        for (std::uint32_t v : {crc, size, size}) put32(out, v);
        for (std::uint32_t v : {std::uint32_t(e.name.size()), 0u}) put16(out, v);
        out.insert(out.end(), e.name.begin(), e.name.end());
        out.insert(out.end(), e.data.begin(), e.data.end());
        // central record: the same, plus version made by, comment, disk, attributes, and the local header's offset
        put32(central, kCentralHeader);
        for (std::uint32_t v : {20u, 20u, 0u, 0u, 0u, 0x21u}) put16(central, v);
        for (std::uint32_t v : {crc, size, size}) put32(central, v);
        for (std::uint32_t v : {std::uint32_t(e.name.size()), 0u, 0u, 0u, 0u}) put16(central, v);
        for (std::uint32_t v : {0u, offset}) put32(central, v);
        central.insert(central.end(), e.name.begin(), e.name.end());
    }
    const std::uint32_t cd_offset = std::uint32_t(out.size());
    out.insert(out.end(), central.begin(), central.end());
    put32(out, kEndRecord);
    for (std::uint32_t v : {0u, 0u, std::uint32_t(entries.size()), std::uint32_t(entries.size())}) put16(out, v);
    for (std::uint32_t v : {std::uint32_t(central.size()), cd_offset}) put32(out, v);
    put16(out, 0);
    return out;
}

std::vector<ZipEntry> zip_decode(const std::vector<std::uint8_t>& file, const std::string& name,
                                 const ZipSizeCheck& size_check) {
    const Bytes f(file, name);
    const Directory d = find_directory(f);
    std::vector<ZipEntry> out;
    std::set<std::string> seen;
    std::uint64_t unpacked = 0;
    for (std::uint64_t e = 0, p = d.offset; e < d.entries; ++e) {
        const Record r = read_record(f, p, d.offset + d.size);
        p += r.length;
        if (!seen.insert(r.name).second) f.fail("the entry '" + r.name + "' appears twice");
        unpacked += r.size;
        if (r.size > max_file_bytes || unpacked > max_file_bytes)
            f.fail("the entries unpack to more than the limit of " + std::to_string(max_file_bytes) + " bytes");
        out.push_back(ZipEntry{r.name, entry_data(f, r, name + ": " + r.name, size_check)});
    }
    return out;
}

} // namespace allconv
