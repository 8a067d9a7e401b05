// npy: NumPy's .npy arrays and .npz archives (a zip of .npy files), read and
// written here so models and golden files open with numpy.load.
//   .npy: magic "\x93NUMPY", version, header length, a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded so the
//   data starts at a multiple of 64, then the raw little-endian data.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace allconv {

struct NpyArray {
    std::string dtype = "<f4";      // <f4 <f8 <i4 <i8 |u1
    std::vector<long> shape;
    std::vector<std::uint8_t> bytes; // little-endian element data, C order

    std::size_t count() const;       // product of shape
    std::vector<double> to_double() const; // any supported dtype, converted
    std::vector<float> to_float() const;
    // The same, refusing NaN and infinity (also a double too large for a float):
    // std::runtime_error("<what>: value I is <v>").
    std::vector<double> to_finite_double(const std::string& what) const;
    std::vector<float> to_finite_float(const std::string& what) const;
    std::string shape_string() const;   // "2x3x3", "" for a scalar

    static NpyArray from_float(const std::vector<float>& v, std::vector<long> shape);
    static NpyArray from_double(const std::vector<double>& v, std::vector<long> shape);
    static NpyArray from_int64(const std::vector<long long>& v, std::vector<long> shape);
    static NpyArray from_bytes(const std::string& text); // |u1, 1-D
    std::string to_text() const;                         // |u1 bytes as a string
};

std::vector<std::uint8_t> npy_encode(const NpyArray& a);
// Throws std::runtime_error("<name>: <problem>"): bad magic, unsupported dtype,
// Fortran order, big-endian, malformed header, data shorter than the shape says.
NpyArray npy_decode(const std::uint8_t* data, std::size_t size, const std::string& name);
// The size of the whole .npy file its header describes (header + data), from
// its first bytes alone; throws as npy_decode does for a bad header.
std::uint64_t npy_file_size(const std::uint8_t* data, std::size_t size, const std::string& name);

using NpzEntries = std::vector<std::pair<std::string, NpyArray>>; // name without ".npy"

// Stored (uncompressed) zip entries "<name>.npy" with correct CRC-32, as numpy.savez writes.
std::vector<std::uint8_t> npz_encode(const NpzEntries& entries);
// Reads stored and deflated entries, with or without ZIP64 fields (see zip.hpp).
NpzEntries npz_decode(const std::vector<std::uint8_t>& file, const std::string& name);

NpyArray read_npy(const std::string& path);
NpzEntries read_npz(const std::string& path);
void write_npy(const std::string& path, const NpyArray& a);
void write_npz(const std::string& path, const NpzEntries& entries); // atomic, as write_file_atomic

const NpyArray& npz_get(const NpzEntries& entries, const std::string& key, const std::string& file);

} // namespace allconv
