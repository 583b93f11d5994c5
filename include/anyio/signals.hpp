#pragma once
// Receiving operating-system signals as an asynchronous stream (AnyIO's
// open_signal_receiver), right by design:
//
//  - Fan-out: every open receiver of a signal gets it, whichever loop or thread it is on.
//  - Coalescing: each receiver keeps at most one pending entry per signal, in first-arrival
//    order; a storm costs no memory.
//  - Exact restore: the first receiver of a signal in the process saves its sigaction; when
//    the last one closes (in any order) the saved handler, flags and mask come back. A
//    handler that someone else installs over ours while receivers are open is left alone
//    at the last close; if a receiver opens after that replacement, it puts our handler
//    back (so it receives) and the last close then restores the replacement.
//  - Nothing lost at the edges: a signal sent right after open_signal_receiver returns is
//    received, and none is received twice. What is still pending in a receiver when it
//    closes goes to the open receivers that have not had it (opened after it arrived, on
//    any loop), or, when no receiver of that signal is left, is sent to the process again
//    (kill / sigqueue, so a thread that blocks the signal cannot swallow it) for whatever
//    handles it next: the restored disposition, or anyio::run's Ctrl+C handling.
//    Repeats of a request the receiver already handed out (signal_info::requests == 0)
//    are not sent again.
//
//     auto signals = anyio::open_signal_receiver(SIGTERM, SIGHUP);
//     for (;;) {
//         int signum = co_await signals.receive();
//         ...
//     }

#include <anyio/detail/runtime.hpp>
#include <anyio/exceptions.hpp>

#include <chrono>
#include <concepts>
#include <coroutine>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

#include <sys/types.h>

namespace anyio {

// One item from a receiver, with what is known about where it came from.
struct signal_info {
    int signo = 0;
    // Occurrences merged into this item since the previous one of the same signal. A lower
    // bound: the kernel itself merges a standard signal that is sent again while pending.
    // Always 1 for real-time signals, which are queued one item per occurrence.
    std::uint64_t count = 0;
    // Requests among those occurrences: deliveries of the same signal from the same
    // sender (pid, uid, si_code) within signal_request_window() of the first are one
    // request (coreutils `timeout` signals its child and then the child's group; a
    // terminal's Ctrl+C reaches the whole foreground group). 0 when every occurrence
    // merged here repeats a request that an earlier item reported: a "second signal"
    // policy (a second SIGTERM cuts the grace period short) skips such an item.
    std::uint64_t requests = 0;
    // The latest merged occurrence's sender: pid and real uid (0 for the kernel), si_code
    // (SI_USER from kill, SI_QUEUE from sigqueue, SI_TKILL from tgkill/raise, SI_KERNEL,
    // ...) and the sigqueue value (zero unless sent with one).
    pid_t pid = 0;
    uid_t uid = 0;
    int code = 0;
    sigval value{};
    // Real-time signals only: occurrences of this signal dropped just before this item
    // because the receiver's queue (or the loop's) was full. Never silent, never unbounded.
    std::uint64_t overflowed = 0;
};

struct receiver_options {
    // How many real-time signal occurrences the receiver queues (each with its own value)
    // before it drops and counts the rest; 1..max_queue_capacity.
    std::size_t queue_capacity = 256;
    static constexpr std::size_t max_queue_capacity = std::size_t{1} << 20;
};

namespace detail {
struct receiver_state;

class receive_awaiter_base : protected blocking_operation {
public:
    explicit receive_awaiter_base(receiver_state* state) noexcept : state_(state) {}
    // Movable until awaited (unless_cancelled wraps it).
    receive_awaiter_base(receive_awaiter_base&&) noexcept = default;
    receive_awaiter_base& operator=(const receive_awaiter_base&) = delete;
    ~receive_awaiter_base() = default;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);

protected:
    // The cancellation check is inline (throw_if_aborted): `cancelled` is thrown in the
    // awaiting coroutine's frame, one frame fewer for the unwinder to walk.
    signal_info take() {
        throw_if_aborted();
        return take_signal();
    }

private:
    signal_info take_signal();
    friend struct receiver_state;
    bool withdraw() noexcept override;
    void wake() noexcept { finish(); }
    receiver_state* state_;
    bool waiting_ = false;
};

class receive_awaiter : public receive_awaiter_base {
public:
    using receive_awaiter_base::receive_awaiter_base;
    int await_resume() { return take().signo; }
};

class receive_info_awaiter : public receive_awaiter_base {
public:
    using receive_awaiter_base::receive_awaiter_base;
    signal_info await_resume() { return take(); }
};
}  // namespace detail

class signal_receiver {
public:
    signal_receiver(signal_receiver&& other) noexcept;
    signal_receiver& operator=(signal_receiver&& other) noexcept;
    signal_receiver(const signal_receiver&) = delete;
    signal_receiver& operator=(const signal_receiver&) = delete;
    ~signal_receiver();

    // The next signal number, in first-arrival order (repeats of a signal not yet received
    // are merged). A checkpoint; cancellation while waiting throws `cancelled` and loses
    // no signal (it stays pending for the next receive). A second receive() on the same
    // receiver while one waits throws busy_resource_error; receive() after close() throws
    // closed_resource_error. Loop thread only (the loop the receiver was opened on).
    [[nodiscard]] detail::receive_awaiter receive() noexcept {
        return detail::receive_awaiter(state_.get());
    }

    // Like receive(), with the count and the sender of the item (see signal_info).
    [[nodiscard]] detail::receive_info_awaiter receive_info() noexcept {
        return detail::receive_info_awaiter(state_.get());
    }

    // Unsubscribes now (the destructor does it too); see the header comment for what
    // happens to pending signals. Idempotent. Must not be called while a receive() waits.
    void close() noexcept;
    [[nodiscard]] bool is_open() const noexcept;

private:
    friend signal_receiver open_signal_receiver(std::span<const int> signals,
                                                receiver_options options);
    explicit signal_receiver(std::unique_ptr<detail::receiver_state> state) noexcept;
    std::unique_ptr<detail::receiver_state> state_;
};

// Opens a receiver for the given signals on the current task's loop. Handlers are in
// place when it returns. Throws std::invalid_argument (naming the signal), before
// installing anything, for: an empty list, a number outside 1..SIGRTMAX, SIGKILL,
// SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, and the signals the C library reserves
// (32 and 33 on glibc). Throws std::logic_error outside anyio::run. Duplicates are fine.
// Throws std::invalid_argument for a queue capacity of 0 or above max_queue_capacity.
[[nodiscard]] signal_receiver open_signal_receiver(std::span<const int> signals,
                                                   receiver_options options = {});

[[nodiscard]] inline signal_receiver open_signal_receiver(std::initializer_list<int> signals,
                                                          receiver_options options = {}) {
    return open_signal_receiver(std::span<const int>(signals.begin(), signals.size()), options);
}

// The window within which deliveries of one signal from one sender count as one request
// (see signal_info::requests; anyio::run's second-Ctrl+C policy uses it too). Process-
// wide; 50 ms by default: far shorter than a person's double press, far longer than the
// gap between `timeout`'s two sends under load. Zero makes every delivery a request.
// Throws std::invalid_argument for a negative window.
void set_signal_request_window(std::chrono::nanoseconds window);
[[nodiscard]] std::chrono::nanoseconds signal_request_window() noexcept;

// For code that forks and execs by itself: call it in the child between fork() and exec()
// so the new program starts with every signal at its default disposition and an empty
// signal mask, whatever this process had installed or blocked (anyio's own process
// spawning does the same). Async-signal-safe.
void reset_signals_for_child() noexcept;

// fork() without exec: the child starts with no receivers; every disposition anyio had
// installed is back to what it was before, and the child may open receivers of its own in
// a new anyio::run (on a thread that runs no loop). Loops copied from the parent cannot
// receive signals in the child, and no handler in the child ever writes to the parent's
// descriptors.

template <std::convertible_to<int>... Signals>
[[nodiscard]] signal_receiver open_signal_receiver(Signals... signals) {
    const int list[] = {0, static_cast<int>(signals)...};
    return open_signal_receiver(std::span<const int>(list + 1, sizeof...(Signals)));
}

}  // namespace anyio
