// Every input that once broke a fuzz target (tests/regressions/<target>/)
// must now be a clear error (a std::exception), and every seed of
// tests/fuzz/corpus/<target>/ a result or an error; all replayed through the
// same target code the fuzzers run. Under make sanitize, also no memory error.
#include <gtest/gtest.h>

#include <filesystem>

#include "fuzz/targets.hpp"
#include "io/file.hpp"

namespace fs = std::filesystem;

TEST(Regressions, EveryKnownBadInputIsAnErrorNotACrash) {
    if (!fs::exists("tests/regressions")) GTEST_SKIP() << "run from the repository root";
    int replayed = 0;
    for (const std::string& target : allconv::fuzz::target_names())
        for (const char* root : {"tests/regressions/", "tests/fuzz/corpus/"}) {
            const std::string dir = root + target;
            if (!fs::exists(dir)) continue;
            for (const auto& entry : fs::directory_iterator(dir)) {
                if (!entry.is_regular_file()) continue;
                bool refused = false;
                try {
                    allconv::fuzz::run_target(target, allconv::read_file_bytes(entry.path().string()));
                } catch (const std::exception&) {
                    refused = true; // the right answer to bad input
                }
                if (std::string(root) == "tests/regressions/") {
                    EXPECT_TRUE(refused) << entry.path() << " was accepted";
                }
                ++replayed;
            }
        }
    EXPECT_GE(replayed, 10);
    std::printf("[ replayed %d inputs ]\n", replayed);
}
