#pragma once
// What one receiver has received but not yet handed out, in first-arrival order:
// at most one merged item per standard signal, up to `queue_capacity` real-time
// occurrences, and at most one drop report per real-time signal. The storage is sized at open, so a
// storm costs no memory and delivery never allocates.

#include <anyio/signals.hpp>

#include "signal/registry.hpp"

#include <array>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace anyio::detail {

class pending_signals {
public:
    pending_signals(std::size_t standard_signals, std::size_t realtime_signals,
                    std::size_t queue_capacity);

    // A standard signal: merged into its pending item if there is one.
    void add_merged(int signo, const signals::occurrence& o) noexcept;
    // A real-time occurrence: its own item, or counted as overflow when the queue is full.
    void add_queued(const signals::queued_signal& q) noexcept;
    // Occurrences dropped (the receiver's queue or the loop's ring was full): reported on
    // the newest queued item of the signal, or else on an item of their own (count 0).
    void add_overflow(int signo, std::uint64_t dropped) noexcept;

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    signal_info pop_front() noexcept;
    // Everything pending with the occurrence numbers it spans, in order (to hand on at
    // close); then empties.
    std::vector<signals::unreceived> drain();

private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    struct entry {
        signal_info info;
        unsigned long long first_sequence = 0;
        unsigned long long last_sequence = 0;
    };
    entry& at(std::size_t absolute) noexcept { return ring_[absolute % ring_.size()]; }
    entry& push_back(int signo) noexcept;
    entry pop_entry() noexcept;

    std::vector<entry> ring_;
    std::size_t head_ = 0;  // absolute index of the front item
    std::size_t size_ = 0;
    std::size_t queued_ = 0;  // real-time items among them
    std::size_t queue_capacity_;
    std::array<std::size_t, _NSIG> merged_at_{};       // absolute index of a standard item, or none
    std::array<std::size_t, _NSIG> last_queued_at_{};  // newest real-time item per signal
    std::array<std::size_t, _NSIG> drop_report_at_{};  // pending count-0 item per signal
};

}  // namespace anyio::detail
