#include "thread/worker_pool.hpp"

#include <anyio/to_thread.hpp>

#include "thread/signal_mask.hpp"

#include <mutex>
#include <thread>
#include <utility>

#include <pthread.h>

namespace anyio::detail {

namespace {
std::once_flag pool_created;
// Written once (under pool_created), and in a fork child before any other thread exists.
worker_pool* pool = nullptr;
}  // namespace

worker_pool& worker_pool::instance() {
    std::call_once(pool_created, [] {
        pool = new worker_pool;
        ::pthread_atfork(nullptr, nullptr, &worker_pool::forget_threads_after_fork);
    });
    return *pool;
}

void worker_pool::forget_threads_after_fork() noexcept {
    auto* fresh = new worker_pool;
    fresh->before_fork_ = pool;
    fresh->idle_timeout_ = pool->idle_timeout_;
    pool = fresh;
}

void worker_pool::submit(std::shared_ptr<worker_job> job) {
    const std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    if (available_ >= queue_.size()) {
        work_arrived_.notify_one();
        return;
    }
    try {
        // The new thread inherits the blocked mask before it runs anything.
        const async_signals_blocked blocked;
        std::thread(&worker_pool::work, this).detach();
    } catch (...) {
        queue_.pop_back();
        throw;
    }
    ++threads_;
    ++available_;
}

std::shared_ptr<worker_job> worker_pool::next_job(std::unique_lock<std::mutex>& lock) {
    const auto idle_since = std::chrono::steady_clock::now();
    while (queue_.empty()) {
        // Read each time: set_idle_timeout wakes the waiting threads to apply a new one.
        if (work_arrived_.wait_until(lock, idle_since + idle_timeout_) == std::cv_status::timeout &&
            queue_.empty()) {
            return nullptr;
        }
    }
    std::shared_ptr<worker_job> job = std::move(queue_.front());
    queue_.pop_front();
    return job;
}

void worker_pool::work() {
    ::pthread_setname_np(::pthread_self(), "anyio-worker");
    std::unique_lock lock(mutex_);
    for (;;) {
        std::shared_ptr<worker_job> job = next_job(lock);
        --available_;
        if (!job) break;
        lock.unlock();
        job->execute();
        {
            // Available again before the loop hears of the result: the caller's next
            // run_sync finds this thread instead of starting another one.
            const std::lock_guard again(mutex_);
            ++available_;
        }
        job->publish();
        job.reset();  // the job's last reference may be here (an abandoned call)
        lock.lock();
    }
    --threads_;
}

std::size_t worker_pool::threads() const {
    const std::lock_guard lock(mutex_);
    return threads_;
}

void worker_pool::set_idle_timeout(std::chrono::steady_clock::duration timeout) {
    const std::lock_guard lock(mutex_);
    idle_timeout_ = timeout;
    work_arrived_.notify_all();
}

}  // namespace anyio::detail
