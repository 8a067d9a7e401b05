// A "backend under test" checked against allconv, the way another project
// would use the installed library:
//
//   make install PREFIX=$HOME/.local
//   c++ backend_check.cpp $(pkg-config --cflags --libs allconv) -o backend_check
//   ./backend_check path/to/allconv/data/golden
//
// The backend here is a deliberately different convolution: it walks the
// *input* pixels and scatters each one into every output it reaches, instead of
// gathering the inputs of each output as allconv's reference loops do. It is
// compared (1) with allconv::conv_forward on random shapes and (2) with the
// golden suite's conv cases, using the manifest's float32 tolerances.
#include <allconv/layers/conv.hpp>
#include <allconv/io/file.hpp>
#include <allconv/io/json.hpp>
#include <allconv/io/npy.hpp>
#include <allconv/rng.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// The backend under test (float, as a GPU kernel would be).
void scatter_conv(int n, int c, int h, int w, int o, int k, int stride, int pad, const float* x, const float* wt,
                  const float* b, float* y) {
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    for (int i = 0; i < n * o * oh * ow; ++i) y[i] = b[(i / (oh * ow)) % o];
    for (int img = 0; img < n; ++img)
        for (int ch = 0; ch < c; ++ch)
            for (int iy = 0; iy < h; ++iy)
                for (int ix = 0; ix < w; ++ix) {
                    const float v = x[((img * c + ch) * h + iy) * w + ix];
                    for (int ky = 0; ky < k; ++ky)
                        for (int kx = 0; kx < k; ++kx) {
                            const int sy = iy + pad - ky, sx = ix + pad - kx; // = oy * stride
                            if (sy < 0 || sx < 0 || sy % stride || sx % stride) continue;
                            const int oy = sy / stride, ox = sx / stride;
                            if (oy >= oh || ox >= ow) continue;
                            for (int oc = 0; oc < o; ++oc)
                                y[((img * o + oc) * oh + oy) * ow + ox] += v * wt[((oc * c + ch) * k + ky) * k + kx];
                        }
                }
}

double worst = 0; // the largest error relative to the output's largest magnitude
bool failed = false;

void compare(const std::string& what, const std::vector<float>& mine, const std::vector<double>& ref, double rtol, double atol) {
    double err = 0, scale = 0;
    bool ok = mine.size() == ref.size();
    for (std::size_t i = 0; ok && i < ref.size(); ++i) {
        double d = std::fabs(mine[i] - ref[i]);
        ok = d <= atol + rtol * std::fabs(ref[i]);
        err = std::max(err, d);
        scale = std::max(scale, std::fabs(ref[i]));
    }
    worst = std::max(worst, scale > 0 ? err / scale : err);
    if (!ok) {
        std::printf("FAIL %s: max abs err %.3g\n", what.c_str(), err);
        failed = true;
    }
}

} // namespace

int main(int argc, char** argv) {
    using namespace allconv;
    // (1) Against the reference loops, on random shapes.
    Rng r(1);
    for (int trial = 0; trial < 20; ++trial) {
        int k = 1 + 2 * int(r.below(3)), s = 1 + int(r.below(3)), p = int(r.below(3));
        Shape in{1 + int(r.below(2)), 1 + int(r.below(4)), k + int(r.below(9)), k + int(r.below(9))};
        ConvGeom g = conv_geom(in, 1 + int(r.below(5)), k, s, p);
        std::vector<float> x(in.size()), w(g.weight_shape().size()), b(g.out_c), mine(g.out_shape().size());
        for (float& v : x) v = float(r.uniform() - 0.5);
        for (float& v : w) v = float(r.uniform() - 0.5);
        for (float& v : b) v = float(r.uniform() - 0.5);
        std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end()), ref(mine.size());
        conv_forward(g, xd.data(), wd.data(), bd.data(), ref.data()); // allconv's reference, in double
        scatter_conv(in.n, in.c, in.h, in.w, g.out_c, k, s, p, x.data(), w.data(), b.data(), mine.data());
        compare("random shape " + to_string(in), mine, ref, 1e-4, 1e-5);
    }
    // (2) Against the golden suite's conv cases.
    int cases = 0;
    if (argc > 1) {
        const std::string dir = argv[1];
        std::vector<std::uint8_t> bytes = read_file_bytes(dir + "/manifest.json");
        Json manifest = parse_json(std::string(bytes.begin(), bytes.end()), dir + "/manifest.json");
        for (const Json& c : manifest.at("cases").items()) {
            if (c.at("op").str() != "conv") continue;
            auto input = [&](const char* key) { return read_npy(dir + "/" + c.at("inputs").at(key).str()); };
            NpyArray x = input("x"), w = input("w"), b = input("b");
            const Json& p = c.at("params");
            std::vector<float> mine(read_npy(dir + "/" + c.at("outputs").at("y").str()).count());
            scatter_conv(int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3]), int(w.shape[0]),
                         p.at("kernel").integer(), p.at("stride").integer(), p.at("padding").integer(),
                         x.to_float().data(), w.to_float().data(), b.to_float().data(), mine.data());
            const Json& tol = c.at("tolerance").at("float32").at("y");
            compare(c.at("name").str(), mine, read_npy(dir + "/" + c.at("outputs").at("y").str()).to_double(),
                    tol.at("rtol").number(), tol.at("atol").number());
            ++cases;
        }
    }
    std::printf("backend_check: 20 random shapes and %d golden conv cases, worst error %.3g of the output scale: %s\n",
                cases, worst, failed ? "FAIL" : "pass");
    return failed ? 1 : 0;
}
