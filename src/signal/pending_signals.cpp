#include "signal/pending_signals.hpp"

namespace anyio::detail {

namespace {
void apply_sender(signal_info& info, const signals::sender& from) noexcept {
    info.pid = from.pid;
    info.uid = from.uid;
    info.code = from.code;
    info.value.sival_ptr = reinterpret_cast<void*>(from.value);
}
}  // namespace

pending_signals::pending_signals(std::size_t standard_signals, std::size_t realtime_signals,
                                 std::size_t queue_capacity)
    : ring_(standard_signals + realtime_signals + queue_capacity), queue_capacity_(queue_capacity) {
    merged_at_.fill(none);
    last_queued_at_.fill(none);
    drop_report_at_.fill(none);
}

signal_info& pending_signals::push_back(int signo) noexcept {
    signal_info& info = at(head_ + size_);
    info = signal_info{};
    info.signo = signo;
    ++size_;
    return info;
}

void pending_signals::add_merged(int signo, std::uint64_t count,
                                 const signals::sender& from) noexcept {
    const auto s = static_cast<std::size_t>(signo);
    signal_info& info = merged_at_[s] != none ? at(merged_at_[s]) : push_back(signo);
    if (merged_at_[s] == none) merged_at_[s] = head_ + size_ - 1;
    info.count += count;
    apply_sender(info, from);
}

void pending_signals::add_queued(int signo, const signals::sender& from) noexcept {
    const auto s = static_cast<std::size_t>(signo);
    if (queued_ == queue_capacity_) {
        add_overflow(signo, 1);
        return;
    }
    signal_info& info = push_back(signo);
    info.count = 1;
    apply_sender(info, from);
    ++queued_;
    last_queued_at_[s] = head_ + size_ - 1;
}

void pending_signals::add_overflow(int signo, std::uint64_t dropped) noexcept {
    // Reported on the newest queued item of the signal, or else on the next one.
    const auto s = static_cast<std::size_t>(signo);
    if (last_queued_at_[s] != none) {
        at(last_queued_at_[s]).overflowed += dropped;
    } else if (drop_report_at_[s] != none) {
        at(drop_report_at_[s]).overflowed += dropped;
    } else {
        push_back(signo).overflowed = dropped;  // room reserved: one per real-time signal
        drop_report_at_[s] = head_ + size_ - 1;
    }
}

signal_info pending_signals::pop_front() noexcept {
    signal_info info = at(head_);
    const auto s = static_cast<std::size_t>(info.signo);
    if (merged_at_[s] == head_) {
        merged_at_[s] = none;
    } else if (drop_report_at_[s] == head_) {
        drop_report_at_[s] = none;
    } else {
        --queued_;
        if (last_queued_at_[s] == head_) last_queued_at_[s] = none;
    }
    ++head_;
    --size_;
    return info;
}

std::vector<signal_info> pending_signals::drain() {
    std::vector<signal_info> items;
    items.reserve(size_);
    while (!empty())
        items.push_back(pop_front());
    return items;
}

}  // namespace anyio::detail
