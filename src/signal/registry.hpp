#pragma once
// The process-wide half of signal delivery: which signals anyio has installed its one
// SA_SIGINFO handler for, what was there before, and the lock-free per-loop slots the
// handler writes into.
//
// Every public function takes the registry mutex; the handler never does. The handler
// reads only atomics, increments per-slot counters and writes the slot's eventfd.

#include "core/wakeup.hpp"
#include "signal/realtime_queue.hpp"
#include "signal/sender_record.hpp"

#include <csignal>
#include <cstdint>
#include <span>

namespace anyio::detail::signals {

// Highest signal number we track (SIGRTMAX is a runtime value; _NSIG is its bound).
inline constexpr int max_signal = _NSIG - 1;

// Refuses what cannot or must not be caught; the message starts with `who` and names the
// signal.
void validate(std::span<const int> signals, const char* who);

// Incremented in the child of each fork(): a loop whose slot is of an older generation
// was copied from the parent and must not touch the registry.
unsigned generation() noexcept;

// For a child between fork() and exec(): every signal's disposition to SIG_DFL and an
// empty signal mask. Async-signal-safe.
void reset_for_child() noexcept;

// A loop's seat at the table: the handler counts the loop's signals into it and wakes
// the loop through `waker`. Acquire from the loop thread; release before the waker dies.
int acquire_slot(wakeup& waker);
void release_slot(int slot) noexcept;

// Receivers. subscribe() is all-or-nothing: it installs the handler where needed (saving
// the old disposition) and rolls back if a sigaction fails half-way.
void subscribe(int slot, std::span<const int> signals);
// `last_in_loop`: the slot's loop has no other receiver of `signo`. Returns true if no
// receiver in the process has `signo` any more; when nothing else in anyio holds it
// either, its previous disposition is back (or left alone if someone replaced our
// handler meanwhile).
bool unsubscribe(int slot, int signo, bool last_in_loop) noexcept;
// The handler's counters for one slot: take (and reset) the count of `signo`.
struct occurrence {
    unsigned count = 0;
    unsigned long long first_sequence = 0;  // for first-arrival order across signals
    sender latest;                          // of the newest occurrence counted
};
occurrence take(int slot, int signo) noexcept;
// Real-time signals are queued per occurrence instead of counted.
[[nodiscard]] bool is_realtime(int signo) noexcept;
bool peek_realtime_sequence(int slot, unsigned long long& next) noexcept;
bool pop_realtime(int slot, queued_signal& out) noexcept;
// Occurrences of `signo` the slot's ring had no room for since the last call.
std::uint64_t take_realtime_dropped(int slot, int signo) noexcept;

// Ctrl+C and graceful termination for anyio::run. claim_termination() returns false (and
// changes nothing) unless `signo` is at its default disposition (or anyio holds it and
// found SIG_DFL). While a receiver of `signo` is open anywhere, it owns the signal.
// The `force_exit_count`-th terminating signal in the process (2: the second Ctrl+C)
// ends the process by that signal, right in the handler.
bool claim_termination(int slot, int signo, unsigned force_exit_count);
void release_termination(int slot, int signo) noexcept;
// The first terminating signal that reached the slot since the last call, or 0.
int take_termination(int slot) noexcept;

}  // namespace anyio::detail::signals
