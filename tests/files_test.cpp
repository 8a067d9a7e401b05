// File formats: IDX, NPY, NPZ, PNG, PGM/PPM and model files. Expected bytes
// come from the format specifications, written out by hand in the tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "io/file.hpp"
#include "io/idx.hpp"
#include "io/image.hpp"
#include "io/inflate.hpp"
#include "net/model.hpp"
#include "io/bytes.hpp"
#include "io/npy.hpp"
#include "io/png.hpp"
#include "net/zoo.hpp"

using namespace allconv;

namespace {

template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

std::vector<std::uint8_t> idx_images(int count, int rows, int cols) {
    std::vector<std::uint8_t> b = {0, 0, 8, 3};
    for (int d : {count, rows, cols})
        for (int shift = 24; shift >= 0; shift -= 8) b.push_back(std::uint8_t(d >> shift));
    for (int i = 0; i < count * rows * cols; ++i) b.push_back(std::uint8_t(i * 7));
    return b;
}

std::vector<std::uint8_t> idx_labels(const std::vector<std::uint8_t>& labels) {
    std::vector<std::uint8_t> b = {0, 0, 8, 1, 0, 0, 0, std::uint8_t(labels.size())};
    for (std::uint8_t l : labels) b.push_back(l);
    return b;
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "allconv_" + name; }

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

std::uint32_t be32(const std::uint8_t* p) { return std::uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// CRC-32 bit by bit, straight from the definition (polynomial 0xEDB88320,
// reflected), independent of the table-driven crc32 under test.
std::uint32_t bitwise_crc(const std::uint8_t* p, std::size_t n) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

} // namespace

TEST(Idx, ReadsImagesAndLabelsPlainAndGzipped) {
    auto images = idx_images(3, 2, 4);
    IdxImages im = parse_idx_images(images, "t");
    EXPECT_EQ(im.count, 3);
    EXPECT_EQ(im.rows, 2);
    EXPECT_EQ(im.cols, 4);
    EXPECT_EQ(im.pixels[5], 35);
    // The same bytes in a gzip file made of one stored block.
    std::vector<std::uint8_t> gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x01, std::uint8_t(images.size()), 0,
                                    std::uint8_t(~images.size()), 0xFF};
    gz.insert(gz.end(), images.begin(), images.end());
    std::uint32_t crc = crc32(images.data(), images.size());
    for (int i = 0; i < 4; ++i) gz.push_back(std::uint8_t(crc >> (8 * i)));
    for (int i = 0; i < 4; ++i) gz.push_back(std::uint8_t(images.size() >> (8 * i)));
    std::string path = temp_path("images.idx.gz");
    write_bytes(path, gz);
    EXPECT_EQ(read_idx_images(path).pixels, im.pixels);
    EXPECT_EQ(parse_idx_labels(idx_labels({1, 9, 0}), "t", 10), (std::vector<std::uint8_t>{1, 9, 0}));
}

TEST(Idx, CorruptHeadersAreOneLineErrorsNamingTheFile) {
    auto good = idx_images(2, 3, 3);
    auto truncated = std::vector<std::uint8_t>(good.begin(), good.end() - 1);
    EXPECT_NE(error_of([&] { parse_idx_images(truncated, "f.idx"); }).find("f.idx: IDX header promises"), std::string::npos);
    auto magic = good;
    magic[2] = 0x0D; // float data
    EXPECT_NE(error_of([&] { parse_idx_images(magic, "f.idx"); }).find("bad magic"), std::string::npos);
    auto huge = good;
    huge[4] = 0x7F; // count ~ 2^31
    EXPECT_NE(error_of([&] { parse_idx_images(huge, "f.idx"); }).find("f.idx"), std::string::npos);
    EXPECT_NE(error_of([&] { parse_idx_labels(idx_labels({3, 10}), "l.idx", 10); }).find("label 10 of item 1"), std::string::npos);
    EXPECT_NE(error_of([&] { read_idx_images(temp_path("missing.idx")); }).find("cannot open"), std::string::npos);
}

// numpy's own header for np.zeros((2, 3), '<f4') saved with np.save (v1.0).
TEST(Npy, ReadsTheHeaderNumpyWrites) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    header.append(118 - header.size() - 1, ' ');
    header += '\n';
    std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, std::uint8_t(header.size()), 0};
    b.insert(b.end(), header.begin(), header.end());
    for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.5f}) append_le32(b, bits_of(v));
    NpyArray a = npy_decode(b.data(), b.size(), "t.npy");
    EXPECT_EQ(a.shape, (std::vector<long>{2, 3}));
    EXPECT_EQ(a.to_float()[5], 6.5f);
    EXPECT_EQ(b.size() - 24, 128u); // numpy aligns the data to 64 bytes; so do we:
    EXPECT_EQ(npy_encode(a).size(), b.size());
}

TEST(Npy, RoundTripsVersionTwoHeadersAndEveryDtype) {
    NpyArray d = NpyArray::from_double({1.5, -2.25, 1e300}, {3});
    NpyArray back = npy_decode(npy_encode(d).data(), npy_encode(d).size(), "t");
    EXPECT_EQ(back.to_double(), d.to_double());
    // A v2.0 header (4-byte length) with a big, padded dict, as numpy writes for huge headers.
    std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    header.append(70000 - header.size() - 1, ' ');
    header += '\n';
    std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
    for (int i = 0; i < 4; ++i) b.push_back(std::uint8_t(header.size() >> (8 * i)));
    b.insert(b.end(), header.begin(), header.end());
    append_le64(b, std::uint64_t(std::int64_t(-7)));
    append_le64(b, std::uint64_t(40000000000));
    EXPECT_EQ(npy_decode(b.data(), b.size(), "t").to_double(), (std::vector<double>{-7, 40000000000.0}));
}

// What NumPy writes on a big-endian host ('>f4', '>i8') reads as the same numbers.
TEST(Npy, ReadsBigEndianArrays) {
    auto make = [](const std::string& dict, const std::vector<std::uint8_t>& data) {
        std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, std::uint8_t(dict.size()), 0};
        b.insert(b.end(), dict.begin(), dict.end());
        b.insert(b.end(), data.begin(), data.end());
        return b;
    };
    // 1.0f = 0x3F800000 and -2.5f = 0xC0200000, most significant byte first.
    std::vector<std::uint8_t> f = make("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n",
                                       {0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0});
    EXPECT_EQ(npy_decode(f.data(), f.size(), "be.npy").to_double(), (std::vector<double>{1.0, -2.5}));
    std::vector<std::uint8_t> i = make("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }\n",
                                       {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF9});
    EXPECT_EQ(npy_decode(i.data(), i.size(), "be.npy").to_double(), (std::vector<double>{-7.0}));
}

TEST(Npy, RejectsFortranOrderTruncationAndGarbage) {
    auto make = [](const std::string& dict, std::size_t data) {
        std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, std::uint8_t(dict.size()), 0};
        b.insert(b.end(), dict.begin(), dict.end());
        b.resize(b.size() + data);
        return b;
    };
    auto err = [](const std::vector<std::uint8_t>& b) { return error_of([&] { npy_decode(b.data(), b.size(), "x.npy"); }); };
    EXPECT_NE(err(make("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16)).find("Fortran"), std::string::npos);
    EXPECT_NE(err(make("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 8)).find("truncated"), std::string::npos);
    EXPECT_NE(err(make("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", 8)).find("unsupported dtype"), std::string::npos);
    EXPECT_NE(err(make("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }\n", 8)).find("x.npy"), std::string::npos);
    EXPECT_NE(err(make("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }\n", 8)).find("malformed shape"), std::string::npos);
    EXPECT_NE(err({'P', '5'}).find("bad magic"), std::string::npos);
    std::vector<std::uint8_t> short_header = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xFF, 0xFF, '{'};
    EXPECT_NE(err(short_header).find("truncated"), std::string::npos);
}

TEST(Npz, RoundTripsStoredEntriesWithCorrectCrc) {
    NpzEntries e = {{"conv1.weight", NpyArray::from_float({1, 2, 3, 4}, {1, 1, 2, 2})}, {"arch", NpyArray::from_bytes("input 1x2x2")}};
    std::vector<std::uint8_t> z = npz_encode(e);
    // Local header of the first entry: signature, method 0, and the CRC of its .npy bytes.
    EXPECT_EQ(z[0], 'P');
    EXPECT_EQ(z[1], 'K');
    auto body = npy_encode(e[0].second);
    std::uint32_t crc = z[14] | z[15] << 8 | z[16] << 16 | std::uint32_t(z[17]) << 24;
    EXPECT_EQ(crc, bitwise_crc(body.data(), body.size()));
    NpzEntries back = npz_decode(z, "t.npz");
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].first, "conv1.weight");
    EXPECT_EQ(back[0].second.to_float(), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(back[1].second.to_text(), "input 1x2x2");
    auto corrupt = z;
    corrupt[30 + 16 + 20] ^= 1; // inside the first entry's data (after its 30-byte header and 16-byte name)
    EXPECT_NE(error_of([&] { npz_decode(corrupt, "t.npz"); }).find("CRC-32 mismatch"), std::string::npos);
    auto cut = std::vector<std::uint8_t>(z.begin(), z.begin() + long(z.size() / 2));
    EXPECT_NE(error_of([&] { npz_decode(cut, "t.npz"); }).find("t.npz"), std::string::npos);
}

// numpy.savez_compressed writes deflated entries, and (with ZIP64 on) an extra
// field id 1 holding the sizes; rebuild such an entry by hand around a
// deflate stream: a stored DEFLATE block is a valid method-8 payload.
TEST(Npz, ReadsDeflatedEntriesWithZip64ExtraFields) {
    auto body = npy_encode(NpyArray::from_float({3.5f, -1.f}, {2}));
    std::vector<std::uint8_t> deflated = {0x01, std::uint8_t(body.size()), std::uint8_t(body.size() >> 8),
                                          std::uint8_t(~body.size()), std::uint8_t(~body.size() >> 8)};
    deflated.insert(deflated.end(), body.begin(), body.end());
    const std::string name = "w.npy";
    std::uint32_t crc = bitwise_crc(body.data(), body.size());
    std::vector<std::uint8_t> z;
    auto p16 = [&](std::vector<std::uint8_t>& o, unsigned v) { o.push_back(std::uint8_t(v)); o.push_back(std::uint8_t(v >> 8)); };
    auto p32 = [&](std::vector<std::uint8_t>& o, std::uint32_t v) { p16(o, v & 0xFFFF); p16(o, v >> 16); };
    auto p64 = [&](std::vector<std::uint8_t>& o, std::uint64_t v) { p32(o, std::uint32_t(v)); p32(o, std::uint32_t(v >> 32)); };
    std::vector<std::uint8_t> extra;
    p16(extra, 1);
    p16(extra, 16);
    p64(extra, body.size());
    p64(extra, deflated.size());
    p32(z, 0x04034b50); p16(z, 45); p16(z, 0); p16(z, 8); p16(z, 0); p16(z, 0x21);
    p32(z, crc); p32(z, 0xFFFFFFFFu); p32(z, 0xFFFFFFFFu); p16(z, unsigned(name.size())); p16(z, unsigned(extra.size()));
    z.insert(z.end(), name.begin(), name.end());
    z.insert(z.end(), extra.begin(), extra.end());
    z.insert(z.end(), deflated.begin(), deflated.end());
    std::uint32_t cd = std::uint32_t(z.size());
    p32(z, 0x02014b50); p16(z, 45); p16(z, 45); p16(z, 0); p16(z, 8); p16(z, 0); p16(z, 0x21);
    p32(z, crc); p32(z, 0xFFFFFFFFu); p32(z, 0xFFFFFFFFu); p16(z, unsigned(name.size())); p16(z, unsigned(extra.size()));
    p16(z, 0); p16(z, 0); p16(z, 0); p32(z, 0); p32(z, 0);
    z.insert(z.end(), name.begin(), name.end());
    z.insert(z.end(), extra.begin(), extra.end());
    std::uint32_t cd_size = std::uint32_t(z.size()) - cd;
    p32(z, 0x06054b50); p16(z, 0); p16(z, 0); p16(z, 1); p16(z, 1); p32(z, cd_size); p32(z, cd); p16(z, 0);
    NpzEntries e = npz_decode(z, "c.npz");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].first, "w");
    EXPECT_EQ(e[0].second.to_float(), (std::vector<float>{3.5f, -1.f}));
}

// Archives NumPy itself wrote (tests/data/README.md): savez (stored entries)
// and savez_compressed (deflated), both with NumPy's ZIP64 extra fields.
TEST(Npz, ReadsWhatNumpySavezAndSavezCompressedWrite) {
    for (const char* file : {"tests/data/numpy_savez.npz", "tests/data/numpy_savez_compressed.npz"}) {
        NpzEntries e = read_npz(file);
        EXPECT_EQ(npz_get(e, "w", file).shape, (std::vector<long>{3, 4})) << file;
        std::vector<float> w = npz_get(e, "w", file).to_float();
        for (int i = 0; i < 12; ++i) EXPECT_EQ(w[i], float(i)) << file;
        EXPECT_EQ(npz_get(e, "d", file).to_double(), (std::vector<double>{1.5, 2.5})) << file;
        EXPECT_EQ(npz_get(e, "i", file).dtype, "<i8");
        EXPECT_EQ(npz_get(e, "i", file).to_double(), (std::vector<double>{1, 2, 3})) << file;
    }
    EXPECT_EQ(npz_get(read_npz("tests/data/numpy_savez.npz"), "u", "f").to_text(), "input 1x2x2");
}

// PNG: signature, IHDR fields, every chunk's CRC (recomputed bit by bit), the
// zlib stream's Adler-32, and the pixels back out through our inflate.
TEST(Png, ChunksCrcsAdlerAndPixelsAreRight) {
    std::vector<std::uint8_t> px = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30}; // 2x2 RGB
    auto png = png_encode(2, 2, 3, px);
    const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ASSERT_EQ(std::memcmp(png.data(), sig, 8), 0);
    std::size_t pos = 8;
    std::vector<std::string> types;
    std::vector<std::uint8_t> idat;
    while (pos + 12 <= png.size()) {
        std::uint32_t len = be32(&png[pos]);
        std::string type(png.begin() + long(pos + 4), png.begin() + long(pos + 8));
        types.push_back(type);
        EXPECT_EQ(be32(&png[pos + 8 + len]), bitwise_crc(&png[pos + 4], len + 4)) << type;
        if (type == "IHDR") {
            EXPECT_EQ(be32(&png[pos + 8]), 2u);
            EXPECT_EQ(be32(&png[pos + 12]), 2u);
            EXPECT_EQ(png[pos + 16], 8);  // bit depth
            EXPECT_EQ(png[pos + 17], 2);  // RGB
        }
        if (type == "IDAT") idat.assign(png.begin() + long(pos + 8), png.begin() + long(pos + 8 + len));
        pos += 12 + len;
    }
    EXPECT_EQ(pos, png.size());
    EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
    ASSERT_GE(idat.size(), 6u);
    EXPECT_EQ((idat[0] * 256 + idat[1]) % 31, 0); // zlib header check (RFC 1950)
    auto raw = inflate_raw(idat.data() + 2, idat.size() - 6, "idat", 1000);
    std::vector<std::uint8_t> expected = {0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 10, 20, 30}; // filter byte per row
    EXPECT_EQ(raw, expected);
    // Adler-32 by its definition: A = 1 + sum, B = sum of the A's, both mod 65521.
    std::uint32_t a = 1, b = 0;
    for (std::uint8_t v : expected) { a = (a + v) % 65521; b = (b + a) % 65521; }
    EXPECT_EQ(be32(&idat[idat.size() - 4]), (b << 16) | a);
}

TEST(Pnm, ReadsGrayAndRgbKeepingRgbOrder) {
    std::string pgm = "P5\n# comment\n3 2\n255\n";
    std::vector<std::uint8_t> b(pgm.begin(), pgm.end());
    for (std::uint8_t v : {0, 51, 255, 102, 153, 204}) b.push_back(v);
    Tensor<float> g = parse_pnm(b, "g.pgm");
    EXPECT_EQ(g.shape, (Shape{1, 1, 2, 3}));
    EXPECT_FLOAT_EQ(g.at(0, 0, 0, 1), 0.2f);
    EXPECT_FLOAT_EQ(g.at(0, 0, 1, 2), 0.8f);
    std::string ppm = "P6 1 1 255\n";
    std::vector<std::uint8_t> c(ppm.begin(), ppm.end());
    for (std::uint8_t v : {255, 0, 51}) c.push_back(v); // red, green, blue
    Tensor<float> rgb = parse_pnm(c, "c.ppm");
    EXPECT_EQ(rgb.shape, (Shape{1, 3, 1, 1}));
    EXPECT_FLOAT_EQ(rgb.data[0], 1.0f);
    EXPECT_FLOAT_EQ(rgb.data[2], 0.2f);
}

TEST(Pnm, BadImagesAreOneLineErrors) {
    auto err = [](const std::string& s) {
        std::vector<std::uint8_t> b(s.begin(), s.end());
        return error_of([&] { parse_pnm(b, "x.pgm"); });
    };
    EXPECT_NE(err("P5\n2 2\n255\nabc").find("truncated"), std::string::npos);
    EXPECT_NE(err("P5\n2 2\n65535\nabcdefgh").find("8-bit"), std::string::npos);
    EXPECT_NE(err("P2\n2 2\n255\n1 2 3 4").find("not a binary PGM"), std::string::npos);
    EXPECT_NE(err("P5\n99999999 2\n255\n").find("x.pgm"), std::string::npos);
    EXPECT_NE(err("P5\n").find("malformed"), std::string::npos);
}

TEST(ModelFile, SavesAndLoadsArchitectureWeightsAndNormalisation) {
    Model m;
    m.arch = parse_arch(zoo_spec("all-cnn-c", ZooOptions{{1, 1, 12, 12}, 0.1, 10}));
    m.params = init_params<float>(m.arch, 3);
    m.mean = {0.25f};
    m.std = {0.5f};
    std::string path = temp_path("model.npz");
    save_model(path, m);
    Model back = load_model(path);
    EXPECT_EQ(arch_spec(back.arch), arch_spec(m.arch));
    for (std::size_t i = 0; i < m.arch.layers.size(); ++i) EXPECT_EQ(back.params.weight[i].data, m.params.weight[i].data);
    EXPECT_EQ(back.mean, m.mean);
    EXPECT_EQ(back.std, m.std);
    // A missing array and a wrong shape name the file and the array.
    NpzEntries e = model_to_npz(m);
    e.erase(e.begin() + 1);
    EXPECT_NE(error_of([&] { model_from_npz(e, "m.npz"); }).find("m.npz: no array named 'conv1.weight'"), std::string::npos);
    NpzEntries f = model_to_npz(m);
    f[1].second.shape = {1, 1, 1, long(f[1].second.count())};
    EXPECT_NE(error_of([&] { model_from_npz(f, "m.npz"); }).find("conv1.weight has shape"), std::string::npos);
}

TEST(AtomicWrite, NoTemporaryFileIsLeftAndFailuresLeaveNothing) {
    std::string path = temp_path("atomic.bin");
    write_file_atomic(path, {1, 2, 3});
    EXPECT_FALSE(std::ifstream(path + ".tmp").good());
    EXPECT_EQ(read_file_bytes(path).size(), 3u);
    EXPECT_THROW(write_file_atomic("/nonexistent-dir/x.bin", {1}), std::runtime_error);
}
