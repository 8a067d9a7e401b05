// parallel: a small persistent pool of std::threads running fork-join jobs.
//
// Threads are started once and reused (starting a thread per call would cost
// tens of microseconds and fresh thread_local buffers every time). A job is a
// task count and a function; workers and the caller take task numbers from a
// shared counter until none are left. A parallel_for inside a task runs
// serially, so nesting is safe.
#include "parallel.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace allconv {

int hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : int(n);
}

namespace {

thread_local bool inside_task = false;

class Pool {
public:
    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (std::thread& t : workers_) t.join();
    }

    void run(int tasks, int threads, const std::function<void(int)>& fn) {
        std::lock_guard<std::mutex> one_job_at_a_time(job_mutex_);
        while (int(workers_.size()) < threads - 1) workers_.emplace_back([this] { work(); });
        {
            std::lock_guard<std::mutex> lock(mutex_);
            fn_ = &fn;
            tasks_ = tasks;
            next_ = 0;
            helpers_wanted_ = threads - 1;
            active_ = 0;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        take_tasks();
        // Every task is taken; done when no helper is still inside one. A
        // helper not yet awake is not waited for: it finds no helpers wanted
        // and sleeps on. (Waiting for it to wake, a small job cost a thread
        // wake-up: the shipped model's forward pass at batch 1 took 2.1x as
        // long on two threads as on one.)
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return active_ == 0; });
        helpers_wanted_ = 0;
        fn_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void take_tasks() {
        inside_task = true;
        for (int t = next_++; t < tasks_; t = next_++) {
            try {
                (*fn_)(t);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
        }
        inside_task = false;
    }

    void work() {
        unsigned long seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && helpers_wanted_ > 0); });
            if (stopping_) return;
            seen = generation_;
            --helpers_wanted_;
            ++active_;
            lock.unlock();
            take_tasks();
            lock.lock();
            --active_;
            done_.notify_all();
        }
    }

    std::mutex job_mutex_, mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    const std::function<void(int)>* fn_ = nullptr;
    std::atomic<int> next_{0};
    int tasks_ = 0, helpers_wanted_ = 0, active_ = 0;
    unsigned long generation_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

} // namespace

void parallel_for(int tasks, int threads, const std::function<void(int task)>& fn) {
    if (threads > tasks) threads = tasks;
    if (threads <= 1 || inside_task) {
        for (int t = 0; t < tasks; ++t) fn(t);
        return;
    }
    static Pool pool;
    pool.run(tasks, threads, fn);
}

} // namespace allconv
