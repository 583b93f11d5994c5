#pragma once
// The single-threaded core: run queue, deadline heap, backend poll, and the one door
// other threads may use (post). One loop per thread at a time; everything except post()
// and wake() is touched only by the loop's own thread.

#include <anyio/detail/runtime.hpp>

#include "backend/epoll/epoll_backend.hpp"
#include "core/deadline_heap.hpp"
#include "core/due_check.hpp"
#include "core/wakeup.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace anyio::testing {
class mock_clock;
}

namespace anyio::detail {

class signal_dispatcher;
class io_source;
class thread_support;

class loop {
public:
    // Binds the loop to the calling thread; throws std::logic_error if the thread already
    // runs a loop (anyio::run inside anyio::run).
    loop();
    loop(const loop&) = delete;
    loop& operator=(const loop&) = delete;
    ~loop();

    [[nodiscard]] static loop* current() noexcept;

    // The time every deadline of this loop is compared with: the monotonic clock, or the
    // mock clock the loop was given.
    [[nodiscard]] clock::time_point now() const noexcept {
        if (mock_ == nullptr) [[likely]]
            return clock::now();
        return mock_now();
    }
    // Before the loop runs: take the time from `c` (nullptr: the monotonic clock). Throws
    // std::logic_error if `c` already drives another loop.
    void use_clock(testing::mock_clock* c);

    void schedule(task_state& task) noexcept;
    // Runs tasks, timers and I/O until `done` becomes true.
    void run_until(const bool& done);

    deadline_heap& timers() noexcept { return timers_; }
    epoll_backend& backend() noexcept { return backend_; }

    // Sources registered with this loop's epoll. The loop tells those still registered
    // when it is destroyed, so none is left holding a dangling loop.
    void track(io_source& source) noexcept;
    void untrack(io_source& source) noexcept;

    // Thread-safe: runs `fn` on the loop thread during a coming tick, waking the loop if
    // it sleeps. Work posted after the loop finished is dropped (destroyed unrun).
    void post(std::function<void()> fn);

    // The loop's signal dispatcher, created on first use.
    signal_dispatcher& signals();
    [[nodiscard]] signal_dispatcher* signals_if_any() noexcept { return signals_.get(); }

    // What signal handlers and other threads poke (see wakeup.hpp).
    wakeup& waker() noexcept { return wakeup_; }

    // Worker threads' door into this loop and its default thread limiter (src/thread/),
    // created on first use; destroyed first when the loop ends, so no thread posts to a
    // dead loop.
    thread_support& threads();

private:
    void run_ready_batch() noexcept;
    void poll_and_fire();
    void run_posted();
    [[nodiscard]] clock::time_point mock_now() const noexcept;

    struct run_queue {
        task_state* head = nullptr;
        task_state* tail = nullptr;
    };
    run_queue ready_;
    deadline_heap timers_;
    due_check due_;
    epoll_backend backend_;
    std::unique_ptr<signal_dispatcher> signals_;
    io_source* registered_ = nullptr;  // head of the list of registered sources
    std::unique_ptr<thread_support> threads_;

    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
    wakeup wakeup_;
    // How many sources are registered: while none is, polling with tasks ready cannot
    // find anything, so the loop skips the system call.
    std::size_t registered_count_ = 0;
    testing::mock_clock* mock_ = nullptr;
};

}  // namespace anyio::detail
