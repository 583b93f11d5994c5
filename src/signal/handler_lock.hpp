#pragma once
// The one lock signal handlers take. The handler must decide "which loops count this
// occurrence, with which sequence number" atomically with respect to receivers opening
// and closing, or an occurrence is lost or counted twice at the edge (a receiver that
// opens while a handler runs on another thread). Mutexes are not async-signal-safe, so
// it is a spinlock whose holders can never be interrupted by a handler that wants it:
// a handler runs with every signal blocked (sa_mask is full), and other code blocks every
// signal on its thread before it takes the lock. Holders run a few dozen instructions.

#include <atomic>
#include <csignal>

#include <pthread.h>

namespace anyio::detail::signals {

inline std::atomic_flag handler_lock = ATOMIC_FLAG_INIT;

// Inside a signal handler of ours: every signal is blocked already.
class handler_lock_in_handler {
public:
    handler_lock_in_handler() noexcept {
        while (handler_lock.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~handler_lock_in_handler() { handler_lock.clear(std::memory_order_release); }
    handler_lock_in_handler(const handler_lock_in_handler&) = delete;
    handler_lock_in_handler& operator=(const handler_lock_in_handler&) = delete;
};

// Anywhere else: blocks every signal on this thread first, so a handler on this thread
// cannot spin forever on a lock its own thread holds.
class handler_lock_outside {
public:
    handler_lock_outside() noexcept {
        ::sigset_t all;
        ::sigfillset(&all);
        ::pthread_sigmask(SIG_BLOCK, &all, &saved_);
        while (handler_lock.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~handler_lock_outside() {
        handler_lock.clear(std::memory_order_release);
        ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    }
    handler_lock_outside(const handler_lock_outside&) = delete;
    handler_lock_outside& operator=(const handler_lock_outside&) = delete;

private:
    ::sigset_t saved_{};
};

}  // namespace anyio::detail::signals
