#pragma once
// The per-loop half of signal delivery. When the loop wakes, it takes the counts the
// handler left in the loop's slot and hands every receiver on this loop that wants a
// signal its share (fan-out), in first-arrival order. Loop thread only.

#include <anyio/signals.hpp>

#include "signal/registry.hpp"

#include <array>
#include <csignal>
#include <functional>
#include <span>
#include <vector>

namespace anyio::detail {

class loop;
struct receiver_state;

class signal_dispatcher {
public:
    explicit signal_dispatcher(loop& owner);
    signal_dispatcher(const signal_dispatcher&) = delete;
    signal_dispatcher& operator=(const signal_dispatcher&) = delete;
    // Waits for in-flight handlers before the loop may close its eventfd.
    ~signal_dispatcher();

    // Subscribes the receiver to receiver.signals; all-or-nothing.
    void add(receiver_state& receiver);
    // Unsubscribes. What reached the loop for this receiver but was not received goes to
    // the open receivers that have not had it (on any loop); what is left for nobody is
    // returned, to be sent to the process again for the restored disposition. Repeats of
    // a request the receiver already handed out are absorbed (request_tracker).
    std::vector<signals::unreceived> remove(receiver_state& receiver) noexcept;

    void dispatch() noexcept;

    // Ctrl+C and graceful termination for anyio::run (see signals::claim_termination):
    // claims each signal that is at its default disposition; `on_terminate(signo)` runs on
    // the loop for the first one that arrives.
    void claim_termination(std::span<const int> signals, unsigned force_exit_count,
                           std::function<void(int)> on_terminate);
    void release_termination() noexcept;

private:
    void deliver_merged(int signo, const signals::occurrence& o) noexcept;
    // Items other loops' closing receivers handed to receivers here.
    void deliver_mail() noexcept;
    void deliver_queued(const signals::queued_signal& q) noexcept;
    // Hands out queued real-time occurrences that arrived before *before (all if null);
    // true if it stopped at a later one.
    bool deliver_realtime(const unsigned long long* before) noexcept;

    // False in a child of fork() for a loop copied from the parent: its slot is gone.
    [[nodiscard]] bool current() const noexcept { return generation_ == signals::generation(); }

    int slot_;
    unsigned generation_;
    std::vector<receiver_state*> receivers_;
    std::array<int, _NSIG> loop_refs_{};  // receivers on this loop per signal
    std::vector<int> terminating_;        // claimed by claim_termination
    std::function<void(int)> on_terminate_;
};

}  // namespace anyio::detail
