#pragma once
// The process-wide cache of worker threads behind to_thread::run_sync.
//
// A job goes to a thread that is idle, or to a new thread when none is. A thread that
// finished a job waits for the next one and retires after `idle_timeout` without work.
// How many jobs run at once is bounded by the callers' capacity limiters, not here.
// Threads block every asynchronous signal (signal_mask.hpp) and are detached: one still
// running a job abandoned by a cancelled task must not hold up anything.
//
// fork(): the child starts with an empty pool (the parent's threads do not exist there).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace anyio::detail {

class worker_job;

class worker_pool {
public:
    // Never destroyed: detached threads may still be waiting on it when the process exits.
    static worker_pool& instance();

    // Any thread. Throws std::system_error if a thread is needed and cannot be created
    // (the job is then not queued).
    void submit(std::shared_ptr<worker_job> job);

    // Threads alive now, running or idle (for tests and diagnostics).
    [[nodiscard]] std::size_t threads() const;
    // How long an idle thread waits for work before it retires (default 10 s), also for
    // the threads idle now.
    void set_idle_timeout(std::chrono::steady_clock::duration timeout);

    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

private:
    worker_pool() = default;
    ~worker_pool() = default;
    void work();
    std::shared_ptr<worker_job> next_job(std::unique_lock<std::mutex>& lock);
    static void forget_threads_after_fork() noexcept;

    mutable std::mutex mutex_;
    std::condition_variable work_arrived_;
    std::deque<std::shared_ptr<worker_job>> queue_;  // guarded by mutex_
    // Guarded by mutex_. `available_`: threads that will look at the queue before they
    // sleep (idle, or about to be); a job is queued for one of them, else for a new thread.
    std::size_t available_ = 0;
    std::size_t threads_ = 0;
    std::chrono::steady_clock::duration idle_timeout_ = std::chrono::seconds(10);
    // The pool this one replaced in a fork child, kept reachable rather than destroyed (a
    // thread that no longer exists may have held its mutex).
    worker_pool* before_fork_ = nullptr;
};

}  // namespace anyio::detail
