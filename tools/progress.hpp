// progress: one status line on stderr, redrawn in place when stderr is a terminal.
#pragma once
#include <string>

namespace allconv {

bool stderr_is_terminal();
// Redraws the line on a terminal; elsewhere prints nothing (callers print whole lines).
void progress_line(const std::string& text);
void progress_done(); // ends a redrawn line
std::string bar(double fraction, int width = 24);
std::string duration(double seconds); // "1m05s"

} // namespace allconv
