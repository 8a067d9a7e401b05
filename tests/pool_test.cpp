// Max-pool: switches, ties, padding, overlapping windows, finite differences.
#include <gtest/gtest.h>

#include <stdexcept>

#include "layers/pool.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

// 4x4 input, 2x2 windows, stride 2 (non-overlapping), worked by hand; a
// switch is the flat index y * 4 + x of the window's maximum:
//   1 3 | 2 0        window (rows 0..1, cols 0..1) = 1 3 / 6 0 -> 6 at (1,0): switch 4
//   6 0 | 1 5        window (rows 0..1, cols 2..3) = 2 0 / 1 5 -> 5 at (1,3): switch 7
//   ----+----        window (rows 2..3, cols 0..1) = 7 2 / 0 1 -> 7 at (2,0): switch 8
//   7 2 | 4 4        window (rows 2..3, cols 2..3) = 4 4 / 9 3 -> 9 at (3,2): switch 14
//   0 1 | 9 3
TEST(MaxPool, SwitchesOfNonOverlappingWindows) {
    PoolGeom g = pool_geom({1, 1, 4, 4}, 2, 2, 0);
    double x[16] = {1, 3, 2, 0, 6, 0, 1, 5, 7, 2, 4, 4, 0, 1, 9, 3}, y[4];
    std::int32_t sw[4];
    maxpool_forward(g, x, y, sw);
    EXPECT_EQ(std::vector<double>(y, y + 4), (std::vector<double>{6, 5, 7, 9}));
    EXPECT_EQ(std::vector<std::int32_t>(sw, sw + 4), (std::vector<std::int32_t>{4, 7, 8, 14}));
}

// Ties: the first cell in row-major window order wins.
TEST(MaxPool, TiesGoToTheFirstPositionInRowMajorOrder) {
    PoolGeom g = pool_geom({1, 1, 2, 2}, 2, 2, 0);
    double x[4] = {3, 3, 3, 3}, y[1];
    std::int32_t sw[1];
    maxpool_forward(g, x, y, sw);
    EXPECT_EQ(sw[0], 0);
    double x2[4] = {1, 5, 5, 5};
    maxpool_forward(g, x2, y, sw);
    EXPECT_EQ(sw[0], 1);
}

// Padded cells act as -infinity: an all-negative input never picks padding (0).
TEST(MaxPool, PaddingIsNeverChosenEvenOverNegativeValues) {
    PoolGeom g = pool_geom({1, 1, 3, 3}, 3, 2, 1);
    ASSERT_EQ(g.out_h, 2);
    double x[9] = {-9, -8, -7, -6, -5, -4, -3, -2, -1}, y[4];
    std::int32_t sw[4];
    maxpool_forward(g, x, y, sw);
    // windows: (0,0) covers rows 0..1 cols 0..1 -> -5 at 4; (0,1) rows 0..1 cols 1..2 -> -4 at 5;
    //          (1,0) rows 1..2 cols 0..1 -> -2 at 7; (1,1) rows 1..2 cols 1..2 -> -1 at 8
    EXPECT_EQ(std::vector<double>(y, y + 4), (std::vector<double>{-5, -4, -2, -1}));
    EXPECT_EQ(std::vector<std::int32_t>(sw, sw + 4), (std::vector<std::int32_t>{4, 5, 7, 8}));
}

// The paper's overlapping 3x3 stride-2 pool: the centre of a 5x5 input holding
// the maximum is in all four windows (rows/cols 0..2, 2..4), so its gradient
// is the sum of all four output signals (tiny-dnn's mistake is to keep one).
TEST(MaxPool, OverlappingWindowGradientsAddUp) {
    PoolGeom g = pool_geom({1, 1, 5, 5}, 3, 2, 0);
    ASSERT_EQ(g.out_h, 2);
    std::vector<double> x(25, 0.0);
    x[12] = 10; // centre
    std::vector<double> y(4), dy = {1, 2, 3, 4}, dx(25);
    std::vector<std::int32_t> sw(4);
    maxpool_forward(g, x.data(), y.data(), sw.data());
    for (int s : sw) EXPECT_EQ(s, 12);
    maxpool_backward(g, dy.data(), sw.data(), dx.data());
    EXPECT_EQ(dx[12], 10.0);
    double rest = 0;
    for (int i = 0; i < 25; ++i)
        if (i != 12) rest += std::fabs(dx[i]);
    EXPECT_EQ(rest, 0.0);
}

// Gradient of <maxpool(x), r> against central differences, on inputs whose
// values are distinct and at least 1e-3 apart (a random permutation of a
// grid), so a 1e-6 step never changes which cell is the maximum.
TEST(MaxPool, GradientMatchesFiniteDifferences) {
    struct Case { Shape in; int k, s, p; };
    const Case cases[] = {{{2, 3, 7, 9}, 3, 2, 1}, {{1, 2, 8, 6}, 2, 2, 0}, {{1, 2, 7, 5}, 2, 2, 1},
                          {{2, 1, 9, 7}, 3, 3, 0}, {{1, 3, 6, 11}, 3, 1, 1}, {{1, 1, 10, 10}, 5, 3, 2}};
    std::uint64_t seed = 1;
    for (const Case& c : cases) {
        PoolGeom g = pool_geom(c.in, c.k, c.s, c.p);
        std::vector<double> x(c.in.size());
        Rng rng(seed++);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i) * 1e-3;
        for (std::size_t i = x.size() - 1; i > 0; --i) std::swap(x[i], x[rng.below(std::uint32_t(i + 1))]);
        auto r = random_tensor<double>(g.out_shape(), seed++).data;
        std::vector<double> y(r.size()), dx(x.size());
        std::vector<std::int32_t> sw(r.size());
        maxpool_forward(g, x.data(), y.data(), sw.data());
        maxpool_backward(g, r.data(), sw.data(), dx.data());
        auto loss = [&]() {
            std::vector<std::int32_t> s2(r.size());
            maxpool_forward(g, x.data(), y.data(), s2.data());
            return dot(y, r);
        };
        std::vector<std::size_t> idx;
        std::vector<double> num;
        numeric_gradient(x, loss, 0, idx, num);
        EXPECT_LT(relative_error(pick(dx, idx), num), 1e-6) << to_string(c.in) << " k" << c.k << " s" << c.s;
    }
}

TEST(MaxPool, ImpossibleWindowsThrow) {
    EXPECT_THROW(pool_geom({1, 1, 4, 4}, 2, 2, 2), std::invalid_argument); // pad > k/2
    EXPECT_THROW(pool_geom({1, 1, 2, 2}, 3, 1, 0), std::invalid_argument); // window larger than input
    EXPECT_THROW(pool_geom({1, 1, 4, 4}, 2, 0, 0), std::invalid_argument);
}
