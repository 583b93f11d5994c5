#pragma once
// Threads anyio creates (workers, portal threads) block every asynchronous signal, so that a
// process-directed signal lands on a thread that handles it properly, and a signal handler
// never interrupts a user's blocking function in a worker. Synchronous faults (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: blocking them would turn a crash
// into undefined behaviour.

#include <csignal>

namespace anyio::detail {

// The set of signals such threads block.
[[nodiscard]] sigset_t async_signals() noexcept;

// Blocks async_signals() in the calling thread for its lifetime, then restores the previous
// mask. A thread created meanwhile inherits the blocked mask from its first instruction,
// with no window in which a signal could reach it.
class async_signals_blocked {
public:
    async_signals_blocked() noexcept;
    async_signals_blocked(const async_signals_blocked&) = delete;
    async_signals_blocked& operator=(const async_signals_blocked&) = delete;
    ~async_signals_blocked();

private:
    sigset_t saved_;
};

}  // namespace anyio::detail
