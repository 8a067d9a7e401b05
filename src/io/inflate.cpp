// inflate: a small, careful DEFLATE decoder (RFC 1951).
//
// Huffman codes are canonical: a code is fully described by the bit length of
// each symbol. Decoding walks the code one bit at a time, counting how many
// codes of each length come before (the method of zlib's "puff"): short, and
// quick enough for a 30 MB dataset.
#include "inflate.hpp"

#include <stdexcept>

#include "bytes.hpp"

namespace allconv {

namespace {
struct CrcTable {
    std::uint32_t entry[256];
    CrcTable() { // reflected polynomial 0xEDB88320 (RFC 1952, section 8)
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            entry[n] = c;
        }
    }
};
} // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc) {
    static const CrcTable table; // built once; C++11 makes this initialisation thread-safe
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) crc = table.entry[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::uint32_t adler32(const std::uint8_t* data, std::size_t size, std::uint32_t adler) {
    std::uint32_t a = adler & 0xFFFF, b = adler >> 16;
    for (std::size_t i = 0; i < size; ++i) {
        a = (a + data[i]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

namespace {

class Inflater {
public:
    // stop_at > 0: stop, successfully, once that many bytes are out.
    Inflater(const std::uint8_t* data, std::size_t size, const std::string& name, std::size_t max_output,
             std::size_t stop_at = 0)
        : in_(data), size_(size), name_(name), max_(max_output), stop_at_(stop_at) {}

    std::vector<std::uint8_t> run(std::size_t* consumed) {
        try {
            bool last = false;
            while (!last) {
                last = bits(1);
                const int type = bits(2);
                if (type == 0) stored();
                else if (type == 1) fixed();
                else if (type == 2) dynamic();
                else fail("invalid block type 3");
            }
        } catch (const Enough&) {
        }
        if (consumed) *consumed = pos_;
        return std::move(out_);
    }

private:
    struct Huffman {
        std::vector<short> count;   // count[len] = number of codes of that bit length (0..15)
        std::vector<short> symbol;  // symbols ordered by code
    };

    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(name_ + ": corrupt compressed data (" + what + ")");
    }

    int bits(int need) {
        long value = bit_buf_;
        while (bit_count_ < need) {
            if (pos_ >= size_) fail("unexpected end of data");
            value |= long(in_[pos_++]) << bit_count_;
            bit_count_ += 8;
        }
        bit_buf_ = int(value >> need);
        bit_count_ -= need;
        return int(value & ((1L << need) - 1));
    }

    struct Enough {}; // thrown when stop_at_ bytes are out: unwinds to run()

    void emit(std::uint8_t byte) {
        if (out_.size() >= max_) fail("output larger than the allowed " + std::to_string(max_) + " bytes");
        out_.push_back(byte);
        if (out_.size() == stop_at_) throw Enough{};
    }

    void stored() {
        bit_buf_ = 0; // skip to a byte boundary
        bit_count_ = 0;
        if (pos_ + 4 > size_) fail("truncated stored block");
        const unsigned len = load_le16(in_ + pos_), nlen = load_le16(in_ + pos_ + 2);
        pos_ += 4;
        if (len != (~nlen & 0xFFFF)) fail("stored block length check failed");
        if (pos_ + len > size_) fail("truncated stored block");
        for (unsigned i = 0; i < len; ++i) emit(in_[pos_++]);
    }

    // Builds the canonical code from lengths; rejects over-subscribed codes.
    Huffman build(const short* lengths, int n) {
        Huffman h;
        h.count.assign(16, 0);
        h.symbol.assign(n, 0);
        for (int s = 0; s < n; ++s) h.count[lengths[s]]++;
        if (h.count[0] == n) return h; // no codes: fine unless used
        int left = 1;
        for (int len = 1; len < 16; ++len) {
            left = left * 2 - h.count[len];
            if (left < 0) fail("over-subscribed Huffman code");
        }
        short offs[16];
        offs[1] = 0;
        for (int len = 1; len < 15; ++len) offs[len + 1] = short(offs[len] + h.count[len]);
        for (int s = 0; s < n; ++s)
            if (lengths[s] != 0) h.symbol[offs[lengths[s]]++] = short(s);
        return h;
    }

    int decode(const Huffman& h) {
        int code = 0, first = 0, index = 0;
        for (int len = 1; len < 16; ++len) {
            code |= bits(1);
            int count = h.count[len];
            if (code - count < first) return h.symbol[index + (code - first)];
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        fail("invalid Huffman code");
    }

    void codes(const Huffman& lit, const Huffman& dist) {
        static const short len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
                                           31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
        static const short len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                            2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
        static const int dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                          33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                          1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
        static const short dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                             6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
        for (;;) {
            int sym = decode(lit);
            if (sym < 256) {
                emit(std::uint8_t(sym));
            } else if (sym == 256) {
                return;
            } else {
                sym -= 257;
                if (sym >= 29) fail("invalid length symbol");
                int len = len_base[sym] + bits(len_extra[sym]);
                int dsym = decode(dist);
                if (dsym >= 30) fail("invalid distance symbol");
                std::size_t d = std::size_t(dist_base[dsym]) + bits(dist_extra[dsym]);
                if (d > out_.size()) fail("distance too far back");
                for (int i = 0; i < len; ++i) emit(out_[out_.size() - d]);
            }
        }
    }

    void fixed() {
        short lengths[320];
        int s = 0;
        for (; s < 144; ++s) lengths[s] = 8;
        for (; s < 256; ++s) lengths[s] = 9;
        for (; s < 280; ++s) lengths[s] = 7;
        for (; s < 288; ++s) lengths[s] = 8;
        Huffman lit = build(lengths, 288);
        for (s = 0; s < 30; ++s) lengths[s] = 5;
        Huffman dist = build(lengths, 30);
        codes(lit, dist);
    }

    void dynamic() {
        static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
        if (nlen > 286 || ndist > 30) fail("bad code counts");
        short lengths[320] = {};
        for (int i = 0; i < ncode; ++i) lengths[order[i]] = short(bits(3));
        Huffman lencode = build(lengths, 19);
        int index = 0;
        while (index < nlen + ndist) {
            int sym = decode(lencode);
            if (sym < 16) {
                lengths[index++] = short(sym);
                continue;
            }
            short len = 0;
            int repeat;
            if (sym == 16) {
                if (index == 0) fail("repeat with no previous length");
                len = lengths[index - 1];
                repeat = 3 + bits(2);
            } else if (sym == 17) {
                repeat = 3 + bits(3);
            } else {
                repeat = 11 + bits(7);
            }
            if (index + repeat > nlen + ndist) fail("too many lengths");
            while (repeat--) lengths[index++] = len;
        }
        if (lengths[256] == 0) fail("no end-of-block code");
        Huffman lit = build(lengths, nlen);
        Huffman dist = build(lengths + nlen, ndist);
        codes(lit, dist);
    }

    const std::uint8_t* in_;
    std::size_t size_, pos_ = 0;
    int bit_buf_ = 0, bit_count_ = 0;
    const std::string& name_;
    std::size_t max_, stop_at_;
    std::vector<std::uint8_t> out_;
};

} // namespace

std::vector<std::uint8_t> inflate_raw(const std::uint8_t* data, std::size_t size, const std::string& name,
                                      std::size_t max_output, std::size_t* consumed) {
    return Inflater(data, size, name, max_output).run(consumed);
}

std::vector<std::uint8_t> inflate_prefix(const std::uint8_t* data, std::size_t size, const std::string& name,
                                         std::size_t count) {
    return Inflater(data, size, name, count, count).run(nullptr);
}

bool is_gzip(const std::vector<std::uint8_t>& file) {
    return file.size() >= 2 && file[0] == 0x1f && file[1] == 0x8b;
}

namespace {

// The length of the gzip member header at p (RFC 1952, 2.3), checked.
std::size_t gzip_header_length(const std::uint8_t* p, std::size_t left, const std::string& name) {
    if (left < 18) throw std::runtime_error(name + ": truncated gzip file");
    if (p[0] != 0x1f || p[1] != 0x8b) throw std::runtime_error(name + ": not a gzip file (bad magic)");
    if (p[2] != 8) throw std::runtime_error(name + ": unknown gzip compression method " + std::to_string(p[2]));
    const int flags = p[3];
    std::size_t at = 10;
    const auto need = [&](std::size_t n) {
        if (n > left - at) throw std::runtime_error(name + ": truncated gzip header");
    };
    if (flags & 4) { // FEXTRA
        need(2);
        const std::size_t xlen = load_le16(p + at);
        need(2 + xlen);
        at += 2 + xlen;
    }
    for (int field : {8, 16}) // FNAME, FCOMMENT: zero-terminated
        if (flags & field)
            for (;;) {
                need(1);
                if (p[at++] == 0) break;
            }
    if (flags & 2) { // FHCRC
        need(2);
        at += 2;
    }
    return at;
}

} // namespace

std::vector<std::uint8_t> gunzip_prefix(const std::vector<std::uint8_t>& file, const std::string& name,
                                        std::size_t count) {
    const std::size_t at = gzip_header_length(file.data(), file.size(), name);
    return inflate_prefix(file.data() + at, file.size() - at, name, count);
}

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& file, const std::string& name,
                                 std::size_t max_output) {
    std::vector<std::uint8_t> out;
    std::size_t pos = 0;
    do { // members follow each other (RFC 1952, 2.2)
        const std::uint8_t* p = file.data() + pos;
        const std::size_t left = file.size() - pos;
        std::size_t at = gzip_header_length(p, left, name), used = 0;
        const std::vector<std::uint8_t> member = inflate_raw(p + at, left - at, name, max_output - out.size(), &used);
        at += used;
        if (8 > left - at) throw std::runtime_error(name + ": truncated gzip trailer");
        if (load_le32(p + at) != crc32(member.data(), member.size()))
            throw std::runtime_error(name + ": CRC-32 mismatch (corrupt data)");
        if (load_le32(p + at + 4) != std::uint32_t(member.size()))
            throw std::runtime_error(name + ": length mismatch in gzip trailer");
        out.insert(out.end(), member.begin(), member.end());
        pos += at + 8;
    } while (pos < file.size() && file.size() - pos >= 2 && file[pos] == 0x1f && file[pos + 1] == 0x8b);
    return out;
}

} // namespace allconv
