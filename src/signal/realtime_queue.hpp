#pragma once
// Occurrences of real-time signals (SIGRTMIN..SIGRTMAX), each with its own sender and
// sigqueue value, queued by signal handlers on any thread for one loop. A bounded
// multi-producer single-consumer ring (Vyukov's): producers claim a cell with
// compare-and-swap and publish it with the cell's sequence number, so a handler never
// blocks and never allocates; when the ring is full the producer reports it and the
// caller counts the loss.

#include "signal/sender_record.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace anyio::detail::signals {

struct queued_signal {
    int signo = 0;
    unsigned long long sequence = 0;  // global arrival order
    sender from;
    bool repeat = false;  // repeats an earlier request (request_tracker)
};

class realtime_queue {
public:
    static constexpr std::size_t capacity = 512;

    // Zero-initialized and unusable until reset(): 64 slots' rings stay untouched pages
    // in a process that never receives real-time signals.
    // Consumer side, with no producer running (the slot is not published yet).
    void reset() noexcept {
        for (std::size_t i = 0; i < capacity; ++i)
            cells_[i].turn.store(i);
        head_.store(0);
        tail_ = 0;
    }

    // Producer: any thread, also inside a signal handler.
    bool push(const queued_signal& item) noexcept {
        std::size_t pos = head_.load();
        for (;;) {
            cell& c = cells_[pos % capacity];
            const std::size_t turn = c.turn.load(std::memory_order_acquire);
            const auto diff = static_cast<std::ptrdiff_t>(turn) - static_cast<std::ptrdiff_t>(pos);
            if (diff == 0) {
                if (head_.compare_exchange_weak(pos, pos + 1)) {
                    c.item = item;
                    c.turn.store(pos + 1, std::memory_order_release);
                    return true;
                }
            } else if (diff < 0) {
                return false;  // full
            } else {
                pos = head_.load();
            }
        }
    }

    // Consumer: the loop thread. False when empty (or the next cell is still being written).
    bool pop(queued_signal& out) noexcept {
        cell& c = cells_[tail_ % capacity];
        if (c.turn.load(std::memory_order_acquire) != tail_ + 1) return false;
        out = c.item;
        c.turn.store(tail_ + capacity, std::memory_order_release);
        ++tail_;
        return true;
    }

    [[nodiscard]] bool peek_sequence(unsigned long long& sequence) const noexcept {
        const cell& c = cells_[tail_ % capacity];
        if (c.turn.load(std::memory_order_acquire) != tail_ + 1) return false;
        sequence = c.item.sequence;
        return true;
    }

private:
    struct cell {
        std::atomic<std::size_t> turn{0};
        queued_signal item;
    };
    std::array<cell, capacity> cells_;
    std::atomic<std::size_t> head_{0};
    std::size_t tail_ = 0;
};

}  // namespace anyio::detail::signals
