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

// Whether std::system's answer says the program never ran: -1, the shell
// itself not started; on Windows 9009, cmd's "Can't recognize '...' as an
// internal or external command" for a program that is there (under wine,
// each about once in a few thousand runs). allconv itself exits 0, 1 or 2.
inline bool never_ran(int raw) {
#ifdef _WIN32
    if (raw == 9009) return true;
#endif
    return raw == -1;
}

// `allconv ARGS` through the shell (ARGS is shell text: quote what needs it).
// The output files are removed first, so a run that never happened cannot
// show the previous run's output. A run that never happened is no answer of
// the program's, so it is tried again, up to 3 times; one that still did not
// run fails the test that expected anything else.
inline Outcome run_allconv(const std::string& args) {
    const std::string dir = ::testing::TempDir();
    const std::string out = dir + "allconv_cli_out.txt", err = dir + "allconv_cli_err.txt";
    int raw = -1;
    for (int attempt = 0; attempt < 3 && never_ran(raw); ++attempt) { // (raw starts as -1: one run at least)
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
