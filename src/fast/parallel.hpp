// parallel: the only place allconv starts threads (std::thread, nothing else).
//
// Determinism rule: each task writes its own outputs and computes them in a
// fixed order, so which thread runs a task never changes a single bit.
#pragma once
#include <functional>

namespace allconv {

// Calls fn(task) once for every task in [0, tasks), spread over at most
// `threads` threads (the caller's thread is one of them). Waits for all.
// An exception thrown by fn is re-thrown here after every thread has joined.
void parallel_for(int tasks, int threads, const std::function<void(int task)>& fn);

// std::thread::hardware_concurrency(), at least 1.
int hardware_threads();

} // namespace allconv
