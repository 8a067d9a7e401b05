// The thread pool behind the fast path (fast/parallel.hpp): every task runs
// once, whatever the thread count and however small and many the jobs (the
// caller does not wait for a helper still waking up, which must then neither
// run a finished job's tasks nor miss the next job's); a task's exception
// reaches the caller and leaves the pool working; a parallel_for inside a
// task runs serially.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "fast/parallel.hpp"

using namespace allconv;

TEST(Parallel, EveryTaskOnceOverManySmallJobs) {
    for (int job = 0; job < 20000; ++job) {
        const int tasks = 1 + job % 5, threads = 2 + job % 6;
        std::vector<std::atomic<int>> ran(static_cast<std::size_t>(tasks));
        for (auto& r : ran) r = 0;
        parallel_for(tasks, threads, [&](int t) { ++ran[static_cast<std::size_t>(t)]; });
        for (int t = 0; t < tasks; ++t) ASSERT_EQ(ran[static_cast<std::size_t>(t)].load(), 1) << "job " << job << " task " << t;
    }
}

TEST(Parallel, AnExceptionReachesTheCallerAndThePoolGoesOn) {
    EXPECT_THROW(parallel_for(8, 2, [](int t) { if (t == 5) throw std::runtime_error("task 5"); }), std::runtime_error);
    std::atomic<int> sum{0};
    parallel_for(100, 2, [&](int t) { sum += t; });
    EXPECT_EQ(sum.load(), 4950);
}

TEST(Parallel, NestedCallsRunSerially) {
    std::atomic<int> inner{0};
    parallel_for(4, 2, [&](int) { parallel_for(10, 2, [&](int) { ++inner; }); });
    EXPECT_EQ(inner.load(), 40);
}
