#pragma once
// An owned, non-blocking file descriptor that tasks can wait on for readability or
// writability: the one piece every socket, pipe and pidfd in anyio is built on.
//
// Registered with the loop's epoll lazily (at the first wait), once, edge-triggered, for
// both directions: no system call per wait (EPOLLONESHOT cost an epoll_ctl to re-arm each
// one). This relies on one rule every caller follows: wait only right after the I/O call
// failed with EAGAIN, with nothing in between that could poll epoll; then the edge that
// ends the wait is one that came after that attempt, and an edge that came while nobody
// waited can be dropped (the attempt saw its data or found it gone). Registration reports
// the current state as a first edge. At most one task waits per direction (a second
// concurrent waiter gets busy_resource_error), so a reader and a writer can share one
// socket. close()
// wakes both waiters with closed_resource_error. Loop thread only; the watch binds to the
// loop of its first waiter until that loop ends (then it may serve another loop).

#include <anyio/detail/runtime.hpp>

#include "core/io_source.hpp"

#include <array>
#include <coroutine>
#include <cstdint>

namespace anyio::detail {

class fd_watch;

enum class io_direction : std::uint8_t { read = 0, write = 1 };

// co_await watch.wait(direction), right after an I/O call in that direction failed with
// EAGAIN (see above): a checkpoint; returns once the descriptor reported readiness in
// that direction (or an error/hang-up, which the next I/O call will surface).
// Cancellation withdraws the wait: nothing was read or written. Throws
// closed_resource_error if the watch is or becomes closed, busy_resource_error if another
// task already waits in that direction.
class readiness_wait : protected blocking_operation {
public:
    readiness_wait(fd_watch& watch, io_direction direction) noexcept
        : watch_(watch), direction_(direction) {}
    readiness_wait(readiness_wait&&) noexcept = default;
    readiness_wait& operator=(const readiness_wait&) = delete;
    ~readiness_wait() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    // Inline so that `cancelled` is thrown in the awaiting coroutine's frame.
    void await_resume() const {
        throw_if_aborted();
        if (closed_) throw_closed();
    }

private:
    friend class fd_watch;
    bool withdraw() noexcept override;
    [[noreturn]] static void throw_closed();

    fd_watch& watch_;
    io_direction direction_;
    bool closed_ = false;
};

class fd_watch final : private io_source {
public:
    fd_watch() noexcept = default;
    // Takes ownership of `fd` and makes it non-blocking and close-on-exec.
    explicit fd_watch(int fd);
    // Pinned: epoll knows a registered watch by its address.
    fd_watch(fd_watch&&) = delete;
    fd_watch& operator=(fd_watch&&) = delete;
    fd_watch(const fd_watch&) = delete;
    fd_watch& operator=(const fd_watch&) = delete;
    ~fd_watch();

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

    [[nodiscard]] readiness_wait wait(io_direction direction) noexcept {
        return readiness_wait(*this, direction);
    }
    [[nodiscard]] bool has_waiter(io_direction direction) const noexcept {
        return waiters_[index(direction)] != nullptr;
    }

    // Unregisters and closes the descriptor; tasks waiting on it resume with
    // closed_resource_error. Idempotent.
    void close() noexcept;
    // Gives up ownership without closing (the caller takes the descriptor). Requires no
    // waiters.
    [[nodiscard]] int release() noexcept;

private:
    friend class readiness_wait;
    static constexpr std::size_t index(io_direction d) noexcept {
        return static_cast<std::size_t>(d);
    }
    void on_ready(std::uint32_t events) noexcept override;
    void on_loop_closed() noexcept override;
    void start_waiting(readiness_wait& waiter);
    void register_with_loop();
    void unregister() noexcept;

    int fd_ = -1;
    loop* loop_ = nullptr;     // set at registration
    bool registered_ = false;  // added to loop_'s epoll
    std::array<readiness_wait*, 2> waiters_{};
};

}  // namespace anyio::detail
