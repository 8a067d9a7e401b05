// protobuf: the wire format of Protocol Buffers (developers.google.com/protocol-
// buffers/docs/encoding), both ways, with no schema: a message is a list of
// fields, each a number, a wire type and a value (a varint, 8 or 4 fixed bytes,
// or a length-delimited run of bytes that may itself be a message). ONNX files
// (onnx.hpp) are such messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace allconv {

// One message under construction.
class ProtoWriter {
public:
    const std::vector<std::uint8_t>& bytes() const { return b_; }
    ProtoWriter& varint(int field, std::uint64_t v);
    ProtoWriter& bytes(int field, const void* data, std::size_t n);
    ProtoWriter& string(int field, const std::string& s) { return bytes(field, s.data(), s.size()); }
    ProtoWriter& message(int field, const ProtoWriter& m) { return bytes(field, m.b_.data(), m.b_.size()); }

private:
    void put_varint(std::uint64_t v);
    std::vector<std::uint8_t> b_;
};

// One field read from a message. For wire type 2 (length-delimited) `data`
// and `size` point into the message's own bytes, which must outlive it.
struct ProtoField {
    int number = 0, wire = 0;   // wire: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit
    std::uint64_t value = 0;    // varint or fixed value
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::string text() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

// Every field of a message, checked: each length against the bytes really
// there, varints of at most 10 bytes, field numbers above 0, no group wire
// types (3, 4), at most `max_fields` fields. Throws std::runtime_error("<name>: ...").
std::vector<ProtoField> proto_fields(const std::uint8_t* data, std::size_t size, const std::string& name,
                                     std::size_t max_fields = std::size_t(1) << 24);

// A packed repeated varint or fixed field (wire type 2), or one unpacked value;
// at most max_count varints.
std::vector<std::uint64_t> proto_varints(const ProtoField& f, const std::string& name,
                                         std::size_t max_count = std::size_t(1) << 24);
std::vector<std::uint32_t> proto_fixed32s(const ProtoField& f, const std::string& name);
std::vector<std::uint64_t> proto_fixed64s(const ProtoField& f, const std::string& name);

} // namespace allconv
