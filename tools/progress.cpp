// progress: terminal detection is POSIX (isatty); elsewhere progress is off.
#include "progress.hpp"

#include <cstdio>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace allconv {

bool stderr_is_terminal() {
#if defined(__unix__) || defined(__APPLE__)
    return isatty(2) != 0;
#else
    return false;
#endif
}

void progress_line(const std::string& text) {
    if (!stderr_is_terminal()) return;
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    std::fflush(stderr);
}

void progress_done() {
    if (stderr_is_terminal()) std::fprintf(stderr, "\r\033[K");
}

std::string bar(double fraction, int width) {
    int full = int(fraction * width + 0.5);
    std::string s = "[";
    for (int i = 0; i < width; ++i) s += i < full ? '#' : '.';
    return s + "]";
}

std::string duration(double seconds) {
    int s = int(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, s / 60 % 60);
    else std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
    return buf;
}

} // namespace allconv
