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
#include <string>
#include <vector>

namespace anyio::detail::signals {

// Highest signal number we track (SIGRTMAX is a runtime value; _NSIG is its bound).
inline constexpr int max_signal = _NSIG - 1;

// Refuses what cannot or must not be caught; the message starts with `who` and names the
// signal.
void validate(std::span<const int> signals, const char* who);

// "SIGINT (2)": for messages.
std::string signal_name(int signo);

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

// Receivers. A receiver is known to the registry by an id (unique in the process) and
// the global sequence number at which it opened: it "had" exactly the occurrences
// numbered from there on while it was open.
struct occurrence {
    unsigned count = 0;     // deliveries
    unsigned requests = 0;  // of them, not repeats of an earlier request (request_tracker)
    unsigned long long first_sequence = 0;  // for first-arrival order across signals
    unsigned long long last_sequence = 0;
    sender latest;  // of the newest occurrence counted
};
struct carried_occurrence {
    int signo = 0;
    occurrence o;
};
struct subscription {
    unsigned long long opened_at = 0;
    // Standard-signal occurrences the slot had counted but not yet dispatched when the
    // receiver opened: they belong to the loop's older receivers only.
    std::vector<carried_occurrence> carried;
};
// All-or-nothing: installs the handler where needed (saving the old disposition; if
// other code replaced our handler, ours goes back in and theirs is what the last close
// restores) and rolls back if a sigaction fails half-way.
subscription subscribe(int slot, std::uint64_t receiver_id, std::span<const int> signals);
// `last_in_loop`: the slot's loop has no other receiver of `signo`. When nothing in anyio
// holds `signo` any more, its previous disposition is back (or left alone if someone
// replaced our handler meanwhile).
void unsubscribe(int slot, int signo, bool last_in_loop) noexcept;

// What a closing receiver had but did not receive, on its way to the next owner.
struct unreceived {
    int signo = 0;
    occurrence o;  // o.latest.value: a real-time occurrence's sigqueue value
};
// Forgets the receiver and hands each of `items` to every open receiver of its signal
// that opened after the item's first occurrence (those that have not had it), through
// their loops' mailboxes. Returns the items of signals no receiver is open for any more:
// the caller sends them to the process again, for the restored disposition.
std::vector<unreceived> hand_over(std::uint64_t receiver_id, std::vector<unreceived> items);
// Items handed over to receivers on this slot's loop; empty almost always (one atomic load).
struct mail {
    std::uint64_t receiver_id = 0;
    unreceived item;
};
std::vector<mail> take_mail(int slot);
// Sends what hand_over left for nobody to the process again: a standard signal once
// (kill), a real-time occurrence once each with its value (sigqueue). Process-directed,
// so a thread that blocks the signal (a portal's, a worker's) cannot swallow it.
void send_to_process(const std::vector<unreceived>& items) noexcept;

// The handler's counters for one slot: take (and reset) the counts of `signo`.
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
