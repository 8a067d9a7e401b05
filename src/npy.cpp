// npy: .npy header parsing and writing, and a minimal zip reader/writer.
#include "npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bytes.hpp"
#include "idx.hpp"
#include "inflate.hpp"
#include "limits.hpp"

namespace allconv {

namespace {

std::size_t dtype_size(const std::string& d) {
    if (d == "<f4" || d == "<i4") return 4;
    if (d == "<f8" || d == "<i8") return 8;
    if (d == "|u1") return 1;
    return 0;
}

void put16(std::vector<std::uint8_t>& o, unsigned v) { append_le16(o, std::uint16_t(v)); }
void put32(std::vector<std::uint8_t>& o, std::uint32_t v) { append_le32(o, v); }
std::uint32_t get16(const std::uint8_t* p) { return load_le16(p); }
std::uint32_t get32(const std::uint8_t* p) { return load_le32(p); }
std::uint64_t get64(const std::uint8_t* p) { return load_le64(p); }

// Value of 'key' in the header dict, as raw text up to the next top-level comma or brace.
std::string dict_value(const std::string& h, const std::string& key, const std::string& name) {
    std::size_t k = h.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(name + ": .npy header has no '" + key + "'");
    std::size_t colon = h.find(':', k);
    if (colon == std::string::npos) throw std::runtime_error(name + ": malformed .npy header");
    std::size_t start = colon + 1, i = start;
    int depth = 0;
    for (; i < h.size(); ++i) {
        char c = h[i];
        if (c == '(') ++depth;
        if (c == ')') --depth;
        if (depth == 0 && (c == ',' || c == '}')) break;
    }
    if (i >= h.size()) throw std::runtime_error(name + ": malformed .npy header");
    std::string v = h.substr(start, i - start);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
}

} // namespace

std::size_t NpyArray::count() const {
    std::size_t n = 1;
    for (long d : shape) n *= std::size_t(d);
    return n;
}

std::vector<double> NpyArray::to_double() const {
    std::vector<double> out(count());
    const std::uint8_t* p = bytes.data();
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (dtype == "<f4") out[i] = float_from_bits(load_le32(p + 4 * i));
        else if (dtype == "<f8") out[i] = double_from_bits(load_le64(p + 8 * i));
        else if (dtype == "<i4") out[i] = double(std::int32_t(load_le32(p + 4 * i)));
        else if (dtype == "<i8") out[i] = double(std::int64_t(load_le64(p + 8 * i)));
        else out[i] = p[i];
    }
    return out;
}

std::vector<float> NpyArray::to_float() const {
    std::vector<double> d = to_double();
    return std::vector<float>(d.begin(), d.end());
}

namespace {
// An empty array of the given dtype and shape, to append little-endian values to.
NpyArray empty_array(const char* dtype, std::vector<long> shape, std::size_t bytes) {
    NpyArray a;
    a.dtype = dtype;
    a.shape = std::move(shape);
    a.bytes.reserve(bytes);
    return a;
}
} // namespace

NpyArray NpyArray::from_float(const std::vector<float>& v, std::vector<long> shape) {
    NpyArray a = empty_array("<f4", std::move(shape), v.size() * 4);
    for (float x : v) append_le32(a.bytes, bits_of(x));
    return a;
}

NpyArray NpyArray::from_double(const std::vector<double>& v, std::vector<long> shape) {
    NpyArray a = empty_array("<f8", std::move(shape), v.size() * 8);
    for (double x : v) append_le64(a.bytes, bits_of(x));
    return a;
}

NpyArray NpyArray::from_int64(const std::vector<long long>& v, std::vector<long> shape) {
    NpyArray a = empty_array("<i8", std::move(shape), v.size() * 8);
    for (long long x : v) append_le64(a.bytes, std::uint64_t(std::int64_t(x)));
    return a;
}

NpyArray NpyArray::from_bytes(const std::string& text) {
    NpyArray a;
    a.dtype = "|u1";
    a.shape = {long(text.size())};
    a.bytes.assign(text.begin(), text.end());
    return a;
}

std::string NpyArray::to_text() const { return std::string(bytes.begin(), bytes.end()); }

std::vector<std::uint8_t> npy_encode(const NpyArray& a) {
    std::string shape = "(";
    for (std::size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : i + 1 < a.shape.size() ? ", " : "");
    shape += ")";
    std::string header = "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
    std::size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::vector<std::uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    put16(out, unsigned(header.size()));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
    return out;
}

NpyArray npy_decode(const std::uint8_t* data, std::size_t size, const std::string& name) {
    if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) throw std::runtime_error(name + ": not a .npy file (bad magic)");
    int major = data[6];
    std::size_t header_len, start;
    if (major == 1) {
        header_len = get16(data + 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) throw std::runtime_error(name + ": truncated .npy header");
        header_len = get32(data + 8);
        start = 12;
    } else {
        throw std::runtime_error(name + ": unsupported .npy version " + std::to_string(major));
    }
    if (header_len > size - start) throw std::runtime_error(name + ": truncated .npy header");
    std::string h(reinterpret_cast<const char*>(data + start), header_len);
    NpyArray a;
    std::string descr = dict_value(h, "descr", name);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
        throw std::runtime_error(name + ": malformed dtype in .npy header");
    a.dtype = descr.substr(1, descr.size() - 2);
    if (a.dtype == "<u1" || a.dtype == "u1" || a.dtype == "B" || a.dtype == ">u1") a.dtype = "|u1";
    // Big-endian arrays (what NumPy writes on a big-endian host) are read and
    // their bytes reversed per element, so every array in memory is little-endian.
    const bool big_endian = !a.dtype.empty() && a.dtype[0] == '>';
    if (big_endian) a.dtype[0] = '<';
    const std::size_t elem = dtype_size(a.dtype);
    if (elem == 0)
        throw std::runtime_error(name + ": unsupported dtype " + descr + " (use <f4, <f8, <i4, <i8 or |u1, or their > forms)");
    std::string fortran = dict_value(h, "fortran_order", name);
    if (fortran == "True") throw std::runtime_error(name + ": Fortran-order arrays are not supported (save with C order)");
    if (fortran != "False") throw std::runtime_error(name + ": malformed fortran_order in .npy header");
    std::string shape = dict_value(h, "shape", name);
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') throw std::runtime_error(name + ": malformed shape in .npy header");
    std::uint64_t total = 1;
    std::string num;
    for (std::size_t i = 1; i < shape.size(); ++i) {
        char c = shape[i];
        if (c >= '0' && c <= '9') {
            num += c;
            if (num.size() > 12) throw std::runtime_error(name + ": absurd dimension in .npy shape");
        } else if (c == ',' || c == ')') {
            if (!num.empty()) {
                const std::uint64_t d = std::stoull(num);
                total = checked_mul(total, d, max_tensor_elements, name + ": .npy shape " + shape);
                if (d > max_tensor_elements) throw std::runtime_error(name + ": absurd dimension in .npy shape");
                a.shape.push_back(long(d));
                num.clear();
            }
        } else if (c != ' ') {
            throw std::runtime_error(name + ": malformed shape " + shape + " in .npy header");
        }
    }
    const std::size_t need = checked_size(checked_mul(total, elem, max_file_bytes, name + ": .npy data size"), max_file_bytes,
                                          name + ": .npy data size");
    if (size - start - header_len < need)
        throw std::runtime_error(name + ": data shorter than its shape " + shape + " needs (truncated)");
    a.bytes.assign(data + start + header_len, data + start + header_len + need);
    if (big_endian)
        for (std::size_t i = 0; i < need; i += elem) std::reverse(a.bytes.begin() + long(i), a.bytes.begin() + long(i + elem));
    return a;
}

std::vector<std::uint8_t> npz_encode(const NpzEntries& entries) {
    std::vector<std::uint8_t> out, central;
    for (const auto& [key, array] : entries) {
        std::vector<std::uint8_t> body = npy_encode(array);
        std::string fname = key + ".npy";
        std::uint32_t crc = crc32(body.data(), body.size());
        if (body.size() >= 0xFFFFFFFFu || out.size() >= 0xFFFFFFFFu) throw std::runtime_error("npz entry too large");
        std::uint32_t offset = std::uint32_t(out.size());
        // local file header
        put32(out, 0x04034b50);
        put16(out, 20);       // version needed
        put16(out, 0);        // flags
        put16(out, 0);        // method: stored
        put16(out, 0);        // time
        put16(out, 0x21);     // date: 1980-01-01
        put32(out, crc);
        put32(out, std::uint32_t(body.size()));
        put32(out, std::uint32_t(body.size()));
        put16(out, unsigned(fname.size()));
        put16(out, 0);
        out.insert(out.end(), fname.begin(), fname.end());
        out.insert(out.end(), body.begin(), body.end());
        // central directory entry
        put32(central, 0x02014b50);
        put16(central, 20);
        put16(central, 20);
        put16(central, 0);
        put16(central, 0);
        put16(central, 0);
        put16(central, 0x21);
        put32(central, crc);
        put32(central, std::uint32_t(body.size()));
        put32(central, std::uint32_t(body.size()));
        put16(central, unsigned(fname.size()));
        put16(central, 0);
        put16(central, 0);
        put16(central, 0);
        put16(central, 0);
        put32(central, 0);
        put32(central, offset);
        central.insert(central.end(), fname.begin(), fname.end());
    }
    std::uint32_t cd_offset = std::uint32_t(out.size());
    out.insert(out.end(), central.begin(), central.end());
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, unsigned(entries.size()));
    put16(out, unsigned(entries.size()));
    put32(out, std::uint32_t(central.size()));
    put32(out, cd_offset);
    put16(out, 0);
    return out;
}

NpzEntries npz_decode(const std::vector<std::uint8_t>& f, const std::string& name) {
    const std::size_t n = f.size();
    // The end-of-central-directory record is in the last 22 + 65535 bytes.
    std::size_t eocd = std::string::npos;
    for (std::size_t i = n >= 22 ? n - 22 + 1 : 0; i-- > 0 && n - i <= 22 + 65535;)
        if (get32(f.data() + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (n < 22 || eocd == std::string::npos) throw std::runtime_error(name + ": not a zip/npz file (no end-of-directory record)");
    std::uint64_t entries = get16(&f[eocd + 10]);
    std::uint64_t cd_size = get32(&f[eocd + 12]), cd_offset = get32(&f[eocd + 16]);
    if (cd_offset == 0xFFFFFFFFu || entries == 0xFFFF) { // ZIP64 end of central directory
        if (eocd < 20 || get32(&f[eocd - 20]) != 0x07064b50) throw std::runtime_error(name + ": missing ZIP64 locator");
        std::uint64_t z = get64(&f[eocd - 20 + 8]);
        if (z + 56 > n || get32(&f[z]) != 0x06064b50) throw std::runtime_error(name + ": bad ZIP64 end record");
        entries = get64(&f[z + 32]);
        cd_size = get64(&f[z + 40]);
        cd_offset = get64(&f[z + 48]);
    }
    if (cd_offset > n || cd_size > n - cd_offset) throw std::runtime_error(name + ": central directory lies outside the file");
    if (entries > cd_size / 46) throw std::runtime_error(name + ": entry count larger than the directory can hold");
    NpzEntries out;
    std::size_t p = cd_offset;
    for (std::uint64_t e = 0; e < entries; ++e) {
        if (p + 46 > cd_offset + cd_size || get32(&f[p]) != 0x02014b50) throw std::runtime_error(name + ": corrupt central directory");
        unsigned method = get16(&f[p + 10]);
        std::uint32_t crc = get32(&f[p + 16]);
        std::uint64_t csize = get32(&f[p + 20]), usize = get32(&f[p + 24]);
        std::size_t nlen = get16(&f[p + 28]), xlen = get16(&f[p + 30]), clen = get16(&f[p + 32]);
        std::uint64_t local = get32(&f[p + 42]);
        if (p + 46 + nlen + xlen + clen > cd_offset + cd_size) throw std::runtime_error(name + ": corrupt central directory");
        std::string fname(reinterpret_cast<const char*>(&f[p + 46]), nlen);
        // ZIP64 extra field (id 1): the 0xFFFFFFFF fields, in order usize, csize, offset.
        for (std::size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
            unsigned id = get16(&f[x]), len = get16(&f[x + 2]);
            std::size_t q = x + 4, end = q + len;
            if (end > p + 46 + nlen + xlen) throw std::runtime_error(name + ": corrupt extra field");
            if (id == 1) {
                if (usize == 0xFFFFFFFFu && q + 8 <= end) { usize = get64(&f[q]); q += 8; }
                if (csize == 0xFFFFFFFFu && q + 8 <= end) { csize = get64(&f[q]); q += 8; }
                if (local == 0xFFFFFFFFu && q + 8 <= end) { local = get64(&f[q]); q += 8; }
            }
            x = end;
        }
        p += 46 + nlen + xlen + clen;
        if (local + 30 > n || get32(&f[local]) != 0x04034b50) throw std::runtime_error(name + ": " + fname + ": bad local header");
        std::uint64_t data = local + 30 + get16(&f[local + 26]) + get16(&f[local + 28]);
        if (data > n || csize > n - data) throw std::runtime_error(name + ": " + fname + ": entry runs past the end of the file (truncated)");
        std::vector<std::uint8_t> body;
        if (method == 0) {
            if (csize != usize) throw std::runtime_error(name + ": " + fname + ": stored entry sizes disagree");
            body.assign(f.begin() + long(data), f.begin() + long(data + csize));
        } else if (method == 8) {
            if (usize > max_file_bytes) throw std::runtime_error(name + ": " + fname + ": declared size too large");
            body = inflate_raw(&f[data], csize, name + ": " + fname, usize);
            if (body.size() != usize) throw std::runtime_error(name + ": " + fname + ": size mismatch after inflate");
        } else {
            throw std::runtime_error(name + ": " + fname + ": unsupported compression method " + std::to_string(method));
        }
        if (crc32(body.data(), body.size()) != crc) throw std::runtime_error(name + ": " + fname + ": CRC-32 mismatch (corrupt)");
        std::string key = fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".npy") == 0 ? fname.substr(0, fname.size() - 4) : fname;
        out.emplace_back(key, npy_decode(body.data(), body.size(), name + ": " + fname));
    }
    return out;
}

NpyArray read_npy(const std::string& path) {
    std::vector<std::uint8_t> b = read_file_bytes(path);
    return npy_decode(b.data(), b.size(), path);
}

NpzEntries read_npz(const std::string& path) { return npz_decode(read_file_bytes(path), path); }

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

void write_npy(const std::string& path, const NpyArray& a) { write_file_atomic(path, npy_encode(a)); }
void write_npz(const std::string& path, const NpzEntries& entries) { write_file_atomic(path, npz_encode(entries)); }

const NpyArray& npz_get(const NpzEntries& entries, const std::string& key, const std::string& file) {
    for (const auto& e : entries)
        if (e.first == key) return e.second;
    throw std::runtime_error(file + ": no array named '" + key + "'");
}

} // namespace allconv
