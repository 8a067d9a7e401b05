// Running the built command line from a test: its exit status and what it printed.
// The binary is $ALLCONV (set by make test: a cross build's emulator prefix included).
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace allconv::testing {

struct Outcome {
    int status;
    std::string out, err;
};

inline std::string allconv_binary() {
    const char* b = std::getenv("ALLCONV");
    return b ? b : "build/allconv";
}

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// `allconv ARGS` through the shell (ARGS is shell text: quote what needs it).
// The output files are removed first, so a run that never happened cannot
// show the previous run's output. std::system returns -1 when it could not
// start the shell at all (under wine, about once in a few thousand runs):
// that is no answer of the program's, so it is tried again, up to 3 times;
// a status of -1 that remains fails the test that expected anything else.
inline Outcome run_allconv(const std::string& args) {
    const std::string dir = ::testing::TempDir();
    const std::string out = dir + "allconv_cli_out.txt", err = dir + "allconv_cli_err.txt";
    int raw = -1;
    for (int attempt = 0; attempt < 3 && raw == -1; ++attempt) {
        std::remove(out.c_str());
        std::remove(err.c_str());
        raw = std::system((allconv_binary() + " " + args + " >" + out + " 2>" + err).c_str());
    }
    int status = raw;
#ifdef WEXITSTATUS
    if (raw != -1) status = WEXITSTATUS(raw);
#endif
    return {status, slurp(out), slurp(err)};
}

inline int lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

} // namespace allconv::testing
