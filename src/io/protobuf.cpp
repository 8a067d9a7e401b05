// protobuf: a writer, and a reader that checks every length it is given.
#include "protobuf.hpp"

#include <stdexcept>

#include "bytes.hpp"

namespace allconv {

ProtoWriter& ProtoWriter::varint(int field, std::uint64_t v) {
    put_varint((std::uint64_t(field) << 3) | 0);
    put_varint(v);
    return *this;
}

ProtoWriter& ProtoWriter::bytes(int field, const void* data, std::size_t n) {
    put_varint((std::uint64_t(field) << 3) | 2);
    put_varint(n);
    const auto* p = static_cast<const std::uint8_t*>(data);
    b_.insert(b_.end(), p, p + n);
    return *this;
}

void ProtoWriter::put_varint(std::uint64_t v) {
    while (v >= 0x80) {
        b_.push_back(std::uint8_t(v | 0x80));
        v >>= 7;
    }
    b_.push_back(std::uint8_t(v));
}

namespace {

// A varint at data[pos], advancing pos; at most 10 bytes, inside [0, size).
std::uint64_t read_varint(const std::uint8_t* data, std::size_t size, std::size_t& pos, const std::string& name) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (pos >= size) throw std::runtime_error(name + ": truncated protobuf varint");
        const std::uint8_t b = data[pos++];
        if (shift == 63 && b > 1) throw std::runtime_error(name + ": protobuf varint longer than 64 bits");
        v |= std::uint64_t(b & 0x7F) << shift;
        if (!(b & 0x80)) return v;
    }
    throw std::runtime_error(name + ": protobuf varint longer than 10 bytes");
}

} // namespace

std::vector<ProtoField> proto_fields(const std::uint8_t* data, std::size_t size, const std::string& name,
                                     std::size_t max_fields) {
    std::vector<ProtoField> fields;
    std::size_t pos = 0;
    while (pos < size) {
        if (fields.size() >= max_fields) throw std::runtime_error(name + ": more protobuf fields than allowed");
        const std::uint64_t key = read_varint(data, size, pos, name);
        ProtoField f;
        f.wire = int(key & 7);
        if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) throw std::runtime_error(name + ": bad protobuf field number");
        f.number = int(key >> 3);
        if (f.wire == 0) {
            f.value = read_varint(data, size, pos, name);
        } else if (f.wire == 1 || f.wire == 5) {
            const std::size_t n = f.wire == 1 ? 8 : 4;
            if (size - pos < n) throw std::runtime_error(name + ": truncated protobuf field");
            f.value = n == 8 ? load_le64(data + pos) : load_le32(data + pos);
            pos += n;
        } else if (f.wire == 2) {
            const std::uint64_t n = read_varint(data, size, pos, name);
            if (n > size - pos) throw std::runtime_error(name + ": protobuf field runs past the end (truncated)");
            f.data = data + pos;
            f.size = std::size_t(n);
            pos += std::size_t(n);
        } else {
            throw std::runtime_error(name + ": unsupported protobuf wire type " + std::to_string(f.wire));
        }
        fields.push_back(f);
    }
    return fields;
}

std::vector<std::uint64_t> proto_varints(const ProtoField& f, const std::string& name, std::size_t max_count) {
    if (f.wire == 0) return {f.value};
    if (f.wire != 2) throw std::runtime_error(name + ": expected varints");
    std::size_t count = 0; // each varint ends with a byte below 0x80: count them before allocating
    for (std::size_t i = 0; i < f.size; ++i) count += f.data[i] < 0x80;
    if (count > max_count) throw std::runtime_error(name + ": more than " + std::to_string(max_count) + " values");
    std::vector<std::uint64_t> out;
    out.reserve(count);
    for (std::size_t pos = 0; pos < f.size;) out.push_back(read_varint(f.data, f.size, pos, name));
    return out;
}

std::vector<std::uint32_t> proto_fixed32s(const ProtoField& f, const std::string& name) {
    if (f.wire == 5) return {std::uint32_t(f.value)};
    if (f.wire != 2 || f.size % 4) throw std::runtime_error(name + ": expected packed 32-bit values");
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < f.size; i += 4) out.push_back(load_le32(f.data + i));
    return out;
}

std::vector<std::uint64_t> proto_fixed64s(const ProtoField& f, const std::string& name) {
    if (f.wire == 1) return {f.value};
    if (f.wire != 2 || f.size % 8) throw std::runtime_error(name + ": expected packed 64-bit values");
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < f.size; i += 8) out.push_back(load_le64(f.data + i));
    return out;
}

} // namespace allconv
