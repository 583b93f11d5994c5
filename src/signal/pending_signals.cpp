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

pending_signals::entry& pending_signals::push_back(int signo) noexcept {
    entry& e = at(head_ + size_);
    e = entry{};
    e.info.signo = signo;
    ++size_;
    return e;
}

void pending_signals::add_merged(int signo, const signals::occurrence& o) noexcept {
    const auto s = static_cast<std::size_t>(signo);
    const bool fresh = merged_at_[s] == none;
    entry& e = fresh ? push_back(signo) : at(merged_at_[s]);
    if (fresh) {
        merged_at_[s] = head_ + size_ - 1;
        e.first_sequence = o.first_sequence;
    }
    e.last_sequence = o.last_sequence;
    e.info.count += o.count;
    e.info.requests += o.requests;
    apply_sender(e.info, o.latest);
}

void pending_signals::add_queued(const signals::queued_signal& q) noexcept {
    const auto s = static_cast<std::size_t>(q.signo);
    if (queued_ == queue_capacity_) {
        add_overflow(q.signo, 1);
        return;
    }
    entry& e = push_back(q.signo);
    e.info.count = 1;
    e.info.requests = q.repeat ? 0 : 1;
    e.first_sequence = e.last_sequence = q.sequence;
    apply_sender(e.info, q.from);
    ++queued_;
    last_queued_at_[s] = head_ + size_ - 1;
}

void pending_signals::add_overflow(int signo, std::uint64_t dropped) noexcept {
    // Reported on the newest queued item of the signal, or else on the next one.
    const auto s = static_cast<std::size_t>(signo);
    if (last_queued_at_[s] != none) {
        at(last_queued_at_[s]).info.overflowed += dropped;
    } else if (drop_report_at_[s] != none) {
        at(drop_report_at_[s]).info.overflowed += dropped;
    } else {
        push_back(signo).info.overflowed = dropped;  // room reserved: one per real-time signal
        drop_report_at_[s] = head_ + size_ - 1;
    }
}

pending_signals::entry pending_signals::pop_entry() noexcept {
    entry e = at(head_);
    const auto s = static_cast<std::size_t>(e.info.signo);
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
    return e;
}

signal_info pending_signals::pop_front() noexcept {
    return pop_entry().info;
}

std::vector<signals::unreceived> pending_signals::drain() {
    std::vector<signals::unreceived> items;
    items.reserve(size_);
    while (!empty()) {
        const entry e = pop_entry();
        signals::unreceived item;
        item.signo = e.info.signo;
        item.o.count = static_cast<unsigned>(e.info.count);
        item.o.requests = static_cast<unsigned>(e.info.requests);
        item.o.first_sequence = e.first_sequence;
        item.o.last_sequence = e.last_sequence;
        item.o.latest = {e.info.pid, e.info.uid, e.info.code,
                         reinterpret_cast<std::intptr_t>(e.info.value.sival_ptr)};
        items.push_back(item);
    }
    return items;
}

}  // namespace anyio::detail
