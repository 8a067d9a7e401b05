// npy: .npy header parsing and writing; .npz as a zip of them (zip.cpp).
#include "npy.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "bytes.hpp"
#include "file.hpp"
#include "zip.hpp"

namespace allconv {

namespace {

std::size_t dtype_size(const std::string& d) {
    if (d == "<f4" || d == "<i4") return 4;
    if (d == "<f8" || d == "<i8") return 8;
    if (d == "|u1") return 1;
    return 0;
}


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

std::vector<double> NpyArray::to_finite_double(const std::string& what) const {
    std::vector<double> v = to_double();
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
            throw std::runtime_error(what + ": value " + std::to_string(i) + " is " + std::to_string(v[i]) +
                                     " (NaN and infinity are refused)");
    return v;
}

std::vector<float> NpyArray::to_finite_float(const std::string& what) const {
    const std::vector<double> d = to_finite_double(what);
    std::vector<float> f(d.begin(), d.end());
    for (std::size_t i = 0; i < f.size(); ++i)
        if (!std::isfinite(f[i]))
            throw std::runtime_error(what + ": value " + std::to_string(i) + " is " + std::to_string(d[i]) +
                                     ", too large for a float");
    return f;
}

std::string NpyArray::shape_string() const {
    std::string s;
    for (long d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
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
    append_le16(out, std::uint16_t(header.size()));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
    return out;
}

namespace {

// The header dict's text: after the magic, the version and the header length.
std::string header_text(const std::uint8_t* data, std::size_t size, const std::string& name, std::size_t& data_start) {
    if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) throw std::runtime_error(name + ": not a .npy file (bad magic)");
    const int major = data[6];
    std::size_t header_len = 0, start = 0;
    if (major == 1) {
        header_len = load_le16(data + 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) throw std::runtime_error(name + ": truncated .npy header");
        header_len = load_le32(data + 8);
        start = 12;
    } else {
        throw std::runtime_error(name + ": unsupported .npy version " + std::to_string(major));
    }
    if (header_len > size - start) throw std::runtime_error(name + ": truncated .npy header");
    data_start = start + header_len;
    return std::string(reinterpret_cast<const char*>(data + start), header_len);
}

// 'descr' as one of ours; sets big_endian for the '>' forms.
std::string parse_dtype(const std::string& h, const std::string& name, bool& big_endian) {
    const std::string descr = dict_value(h, "descr", name);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
        throw std::runtime_error(name + ": malformed dtype in .npy header");
    std::string dtype = descr.substr(1, descr.size() - 2);
    if (dtype == "<u1" || dtype == "u1" || dtype == "B" || dtype == ">u1") dtype = "|u1";
    big_endian = !dtype.empty() && dtype[0] == '>';
    if (big_endian) dtype[0] = '<';
    if (dtype_size(dtype) == 0)
        throw std::runtime_error(name + ": unsupported dtype " + descr + " (use <f4, <f8, <i4, <i8 or |u1, or their > forms)");
    return dtype;
}

// 'shape' as a tuple of whole numbers: "()", "(5,)", "(2, 3)"; each checked
// against the element limit as it is read.
std::vector<long> parse_shape(const std::string& h, const std::string& name, std::uint64_t& total) {
    const std::string shape = dict_value(h, "shape", name);
    const auto bad = [&]() { return std::runtime_error(name + ": malformed shape " + shape + " in .npy header"); };
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') throw bad();
    std::vector<long> dims;
    total = 1;
    std::size_t i = 1;
    const auto skip_spaces = [&]() { while (shape[i] == ' ') ++i; };
    for (skip_spaces(); shape[i] != ')'; skip_spaces()) {
        const std::size_t start = i;
        while (shape[i] >= '0' && shape[i] <= '9') ++i;
        if (i == start) throw bad();
        if (i - start > 12) throw std::runtime_error(name + ": absurd dimension in .npy shape");
        const std::uint64_t d = std::stoull(shape.substr(start, i - start));
        if (d > max_tensor_elements) throw std::runtime_error(name + ": absurd dimension in .npy shape");
        total = checked_mul(total, d, max_tensor_elements, name + ": .npy shape " + shape);
        dims.push_back(long(d));
        skip_spaces();
        if (shape[i] == ',') ++i;
        else if (shape[i] != ')') throw bad();
    }
    if (i + 1 != shape.size()) throw bad();
    return dims;
}

} // namespace

namespace {

// What a header says: the array's type, shape, and where its data starts.
struct Layout {
    std::string dtype;
    bool big_endian = false;
    std::vector<long> shape;
    std::size_t start = 0, data_bytes = 0;
};

Layout read_layout(const std::uint8_t* data, std::size_t size, const std::string& name) {
    Layout l;
    const std::string h = header_text(data, size, name, l.start);
    l.dtype = parse_dtype(h, name, l.big_endian);
    const std::string fortran = dict_value(h, "fortran_order", name);
    if (fortran == "True") throw std::runtime_error(name + ": Fortran-order arrays are not supported (save with C order)");
    if (fortran != "False") throw std::runtime_error(name + ": malformed fortran_order in .npy header");
    std::uint64_t total = 0;
    l.shape = parse_shape(h, name, total);
    l.data_bytes = checked_size(checked_mul(total, dtype_size(l.dtype), max_file_bytes, name + ": .npy data size"),
                                max_file_bytes, name + ": .npy data size");
    return l;
}

} // namespace

std::uint64_t npy_file_size(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const Layout l = read_layout(data, size, name);
    return std::uint64_t(l.start) + l.data_bytes;
}

NpyArray npy_decode(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const Layout l = read_layout(data, size, name);
    if (size - l.start < l.data_bytes) throw std::runtime_error(name + ": data shorter than its shape needs (truncated)");
    NpyArray a;
    a.dtype = l.dtype;
    a.shape = l.shape;
    a.bytes.assign(data + l.start, data + l.start + l.data_bytes);
    // Big-endian arrays (what NumPy writes on a big-endian host): reverse each
    // element's bytes, so every array in memory is little-endian.
    const std::size_t elem = dtype_size(a.dtype);
    if (l.big_endian)
        for (std::size_t i = 0; i < a.bytes.size(); i += elem)
            std::reverse(a.bytes.begin() + long(i), a.bytes.begin() + long(i + elem));
    return a;
}

std::vector<std::uint8_t> npz_encode(const NpzEntries& entries) {
    std::vector<ZipEntry> files;
    for (const auto& [key, array] : entries) files.push_back(ZipEntry{key + ".npy", npy_encode(array)});
    return zip_encode(files);
}

NpzEntries npz_decode(const std::vector<std::uint8_t>& file, const std::string& name) {
    // A compressed .npy entry must unpack to exactly what its header says:
    // checked on the first bytes, before the rest is unpacked.
    const ZipSizeCheck header_size = [](const std::string& entry, const std::vector<std::uint8_t>& first) -> std::uint64_t {
        try {
            return npy_file_size(first.data(), first.size(), entry);
        } catch (const std::exception&) {
            return 0; // a header longer than the first bytes: unknown here, checked after unpacking
        }
    };
    NpzEntries out;
    for (const ZipEntry& e : zip_decode(file, name, header_size)) {
        const std::string& f = e.name;
        const bool npy = f.size() > 4 && f.compare(f.size() - 4, 4, ".npy") == 0;
        out.emplace_back(npy ? f.substr(0, f.size() - 4) : f, npy_decode(e.data.data(), e.data.size(), name + ": " + f));
    }
    return out;
}

NpyArray read_npy(const std::string& path) {
    std::vector<std::uint8_t> b = read_file_bytes(path);
    return npy_decode(b.data(), b.size(), path);
}

NpzEntries read_npz(const std::string& path) { return npz_decode(read_file_bytes(path), path); }

void write_npy(const std::string& path, const NpyArray& a) { write_file_atomic(path, npy_encode(a)); }
void write_npz(const std::string& path, const NpzEntries& entries) { write_file_atomic(path, npz_encode(entries)); }

const NpyArray& npz_get(const NpzEntries& entries, const std::string& key, const std::string& file) {
    for (const auto& e : entries)
        if (e.first == key) return e.second;
    throw std::runtime_error(file + ": no array named '" + key + "'");
}

} // namespace allconv
