#pragma once
// The per-loop half of signal delivery. When the loop wakes, it takes the counts the
// handler left in the loop's slot and hands every receiver on this loop that wants a
// signal its share (fan-out), in first-arrival order. Loop thread only.

#include <anyio/signals.hpp>

#include "signal/registry.hpp"

#include <array>
#include <csignal>
#include <functional>
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
    // Unsubscribes; signals that reached the loop for this receiver but were not
    // received, and that no other receiver in the process got, are returned (to be
    // re-raised once the previous disposition is back).
    std::vector<signal_info> remove(receiver_state& receiver) noexcept;

    void dispatch() noexcept;

    // Ctrl+C for anyio::run (see signals::claim_keyboard_interrupt).
    bool claim_keyboard_interrupt(std::function<void()> on_interrupt);
    void release_keyboard_interrupt() noexcept;

private:
    void deliver_merged(int signo, const signals::occurrence& o) noexcept;
    void deliver_queued(const signals::queued_signal& q) noexcept;
    // Hands out queued real-time occurrences that arrived before *before (all if null);
    // true if it stopped at a later one.
    bool deliver_realtime(const unsigned long long* before) noexcept;

    loop& owner_;
    int slot_;
    std::vector<receiver_state*> receivers_;
    std::array<int, _NSIG> loop_refs_{};  // receivers on this loop per signal
    std::function<void()> on_keyboard_interrupt_;
};

}  // namespace anyio::detail
