// The blocked matrix multiply against three plain loops, including
// transposed operands (strides), edges that do not fill a tile, accumulate.
#include <gtest/gtest.h>

#include <algorithm>

#include "fast/gemm.hpp"
#include "test_util.hpp"

using namespace allconv;
using namespace allconv::testing;

TEST(Gemm, HandComputedTwoByTwo) {
    // (1 2; 3 4) * (5 6; 7 8) = (19 22; 43 50)
    double a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4];
    gemm(2, 2, 2, a, 2, 1, b, 2, 1, c, 2, false, 1);
    EXPECT_EQ(c[0], 19);
    EXPECT_EQ(c[1], 22);
    EXPECT_EQ(c[2], 43);
    EXPECT_EQ(c[3], 50);
}

TEST(Gemm, MatchesPlainLoopsForManyShapesAndStrides) {
    Rng r(3);
    for (int trial = 0; trial < 50; ++trial) {
        int M = 1 + int(r.below(130)), N = 1 + int(r.below(300)), K = 1 + int(r.below(600));
        bool ta = r.below(2), tb = r.below(2), acc = r.below(2);
        auto A = random_vector<double>(std::size_t(M) * K, 1 + trial), B = random_vector<double>(std::size_t(K) * N, 2 + trial);
        auto C0 = random_vector<double>(std::size_t(M) * N, 3 + trial);
        std::vector<double> fast = C0, ref = C0;
        long ar = ta ? 1 : K, ac = ta ? M : 1, br = tb ? 1 : N, bc = tb ? K : 1;
        gemm(M, N, K, A.data(), ar, ac, B.data(), br, bc, fast.data(), N, acc, 2);
        gemm_reference(M, N, K, A.data(), ar, ac, B.data(), br, bc, ref.data(), N, acc);
        // Only the order of additions differs: 1e-13 relative to the largest entry.
        EXPECT_LT(relative_error(fast, ref), 1e-13) << M << "x" << K << " * " << K << "x" << N << " ta " << ta
                                                     << " tb " << tb << " acc " << acc;
    }
}

TEST(Gemm, FloatBitIdenticalForAnyThreadCount) {
    int M = 200, N = 700, K = 300;
    auto A = random_vector<float>(std::size_t(M) * K, 1), B = random_vector<float>(std::size_t(K) * N, 2);
    std::vector<float> c1(std::size_t(M) * N), c2 = c1, c7 = c1;
    gemm(M, N, K, A.data(), K, 1, B.data(), N, 1, c1.data(), N, false, 1);
    gemm(M, N, K, A.data(), K, 1, B.data(), N, 1, c2.data(), N, false, 2);
    gemm(M, N, K, A.data(), K, 1, B.data(), N, 1, c7.data(), N, false, 7);
    EXPECT_TRUE(c1 == c2);
    EXPECT_TRUE(c1 == c7);
}

// A last strip of fewer than MR rows runs on a shorter tile (gemm.cpp,
// by_tile_rows): it must give exactly the bits that a whole tile gives those
// rows, computed here by padding A with rows of its own to whole strips.
template <class T>
void short_strips_give_whole_tile_bits() {
    constexpr int MR = Tiles<T>::MR;
    const int N = 70, K = 300; // a partial strip of columns; two slices of K
    for (int M = 1; M <= 3 * MR; ++M) {
        const int padded = padded_rows<T>(M);
        auto A = random_vector<T>(std::size_t(padded) * K, M), B = random_vector<T>(std::size_t(K) * N, 100 + M);
        std::vector<T> whole(std::size_t(padded) * N), part(std::size_t(M) * N);
        gemm(padded, N, K, A.data(), K, 1, B.data(), N, 1, whole.data(), N, false, 1);
        gemm(M, N, K, A.data(), K, 1, B.data(), N, 1, part.data(), N, false, 1);
        EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin())) << "M = " << M;
    }
}

TEST(Gemm, ShortLastStripGivesTheBitsOfAWholeTileFloat) { short_strips_give_whole_tile_bits<float>(); }
TEST(Gemm, ShortLastStripGivesTheBitsOfAWholeTileDouble) { short_strips_give_whole_tile_bits<double>(); }
