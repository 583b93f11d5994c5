#pragma once
// The portal behind anyio::blocking_portal: a thread running a loop whose host task starts
// every call as a child of one task group, and the state the calling threads share with it.

#include <anyio/detail/thread_call.hpp>
#include <anyio/run.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace anyio::detail {

struct portal_shared;

class portal_core {
public:
    // `claim`: run_with_portal's options: the loop claims Ctrl+C and the graceful signals
    // (as anyio::run does), and the first of them to arrive stops the portal. Empty: the
    // loop claims no signal. Returns once the loop runs; throws std::system_error if the
    // thread cannot be created.
    explicit portal_core(std::optional<run_options> claim);
    portal_core(const portal_core&) = delete;
    portal_core& operator=(const portal_core&) = delete;
    ~portal_core() = default;

    // The calling thread's side of blocking_portal's members (see blocking_portal.hpp).
    void submit(const std::shared_ptr<thread_request>& call, const char* what);
    void stop(bool cancel_remaining);
    [[nodiscard]] bool running() const noexcept;
    int wait_for_stop();
    bool wait_for_stop_until(std::chrono::steady_clock::time_point deadline);
    [[nodiscard]] int stop_signal() const noexcept;

private:
    void refuse_on_portal_thread(const char* what) const;
    [[noreturn]] void throw_stopped(const char* what) const;

    std::shared_ptr<portal_shared> shared_;
    std::thread thread_;
    // Set by the first stop(): later ones only wait for its join.
    std::atomic<bool> stop_called_{false};
    std::mutex join_mutex_;  // a second stop() waits for the first one's join
};

}  // namespace anyio::detail
