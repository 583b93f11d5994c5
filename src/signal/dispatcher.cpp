#include "signal/dispatcher.hpp"

#include "core/loop.hpp"
#include "signal/receiver_state.hpp"
#include "signal/registry.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace anyio::detail {

signal_dispatcher::signal_dispatcher(loop& owner)
    : slot_(signals::acquire_slot(owner.waker())), generation_(signals::generation()) {}

signal_dispatcher::~signal_dispatcher() {
    if (!current()) return;  // inherited through fork(): the slot is not ours any more
    deliver_mail();          // every receiver here is closed: it all goes on elsewhere
    release_termination();
    signals::release_slot(slot_);
}

void signal_dispatcher::add(receiver_state& receiver) {
    if (!current()) {
        throw std::logic_error(
            "anyio::open_signal_receiver: this event loop was copied into a child by fork(); "
            "open receivers in a new anyio::run in the child (from a thread without a loop)");
    }
    // Deliver what already arrived to the receivers that were open when it arrived.
    dispatch();
    receivers_.reserve(receivers_.size() + 1);
    const signals::subscription sub = signals::subscribe(slot_, receiver.id, receiver.signals);
    for (const auto& [signo, o] : sub.carried)
        deliver_merged(signo, o);
    receiver.opened_at = sub.opened_at;
    for (const int signo : receiver.signals)
        ++loop_refs_[static_cast<std::size_t>(signo)];
    receivers_.push_back(&receiver);
    receiver.dispatcher = this;
}

std::vector<signals::unreceived> signal_dispatcher::remove(receiver_state& receiver) noexcept {
    if (!current()) {
        std::erase(receivers_, &receiver);
        receiver.dispatcher = nullptr;
        return {};
    }
    dispatch();
    for (const int signo : receiver.signals) {
        const bool last_in_loop = --loop_refs_[static_cast<std::size_t>(signo)] == 0;
        signals::unsubscribe(slot_, signo, last_in_loop);
        if (last_in_loop && !signals::is_realtime(signo)) {
            // Arrived between dispatch() and unsubscribe(): this receiver's to hand on.
            const auto late = signals::take(slot_, signo);
            if (late.count != 0) receiver.pending.add_merged(signo, late);
        }
    }
    deliver_realtime(nullptr);  // the same for queued occurrences
    std::erase(receivers_, &receiver);
    receiver.dispatcher = nullptr;
    std::vector<signals::unreceived> items = receiver.pending.drain();
    // A drop report carries no occurrence; a pure repeat's request was handed out already.
    std::erase_if(items, [](const signals::unreceived& item) {
        return item.o.count == 0 || item.o.requests == 0;
    });
    try {
        return signals::hand_over(receiver.id, std::move(items));
    } catch (...) {
        return {};  // out of memory while closing: the items cannot be handed on
    }
}

void signal_dispatcher::deliver_merged(int signo, const signals::occurrence& o) noexcept {
    for (receiver_state* r : receivers_) {
        if (!r->wanted.test(static_cast<std::size_t>(signo))) continue;
        r->pending.add_merged(signo, o);
        r->wake_waiter();
    }
}

void signal_dispatcher::deliver_queued(const signals::queued_signal& q) noexcept {
    for (receiver_state* r : receivers_) {
        if (!r->wanted.test(static_cast<std::size_t>(q.signo))) continue;
        if (q.sequence < r->opened_at) continue;  // arrived before it opened
        r->pending.add_queued(q);
        r->wake_waiter();
    }
}

void signal_dispatcher::deliver_mail() noexcept {
    try {
        std::vector<signals::unreceived> unclaimed;
        for (signals::mail& m : signals::take_mail(slot_)) {
            const auto found =
                std::find_if(receivers_.begin(), receivers_.end(),
                             [&](const receiver_state* r) { return r->id == m.receiver_id; });
            if (found == receivers_.end()) {
                // Closed after the item was handed to it: on to the next owner.
                unclaimed.push_back(m.item);
                continue;
            }
            receiver_state& r = **found;
            if (signals::is_realtime(m.item.signo)) {
                r.pending.add_queued({m.item.signo, m.item.o.first_sequence, m.item.o.latest,
                                      m.item.o.requests == 0});
            } else {
                r.pending.add_merged(m.item.signo, m.item.o);
            }
            r.wake_waiter();
        }
        if (!unclaimed.empty()) {
            // Ids are never reused, so the closed receiver's id names nobody.
            signals::send_to_process(signals::hand_over(0, std::move(unclaimed)));
        }
    } catch (...) {
        // Out of memory: the mail stays lost rather than ending the loop.
    }
}

bool signal_dispatcher::deliver_realtime(const unsigned long long* before) noexcept {
    unsigned long long sequence = 0;
    signals::queued_signal q;
    while (signals::peek_realtime_sequence(slot_, sequence)) {
        if (before != nullptr && *before < sequence) return true;
        signals::pop_realtime(slot_, q);
        deliver_queued(q);
    }
    return false;
}

void signal_dispatcher::dispatch() noexcept {
    if (!current()) return;
    deliver_mail();
    struct arrival {
        int signo;
        signals::occurrence o;
    };
    std::array<arrival, _NSIG> arrivals{};
    std::size_t n = 0;
    bool any_realtime = false;
    for (int signo = 1; signo <= signals::max_signal; ++signo) {
        if (loop_refs_[static_cast<std::size_t>(signo)] == 0) continue;
        if (signals::is_realtime(signo)) {
            any_realtime = true;
            continue;
        }
        const auto o = signals::take(slot_, signo);
        if (o.count != 0) arrivals[n++] = {signo, o};
    }
    std::sort(
        arrivals.begin(), arrivals.begin() + static_cast<std::ptrdiff_t>(n),
        [](const arrival& a, const arrival& b) { return a.o.first_sequence < b.o.first_sequence; });
    // Merge with the queued real-time occurrences, by arrival.
    for (std::size_t i = 0; i < n; ++i) {
        if (any_realtime) deliver_realtime(&arrivals[i].o.first_sequence);
        deliver_merged(arrivals[i].signo, arrivals[i].o);
    }
    if (any_realtime) {
        deliver_realtime(nullptr);
        for (int signo = 1; signo <= signals::max_signal; ++signo) {
            if (loop_refs_[static_cast<std::size_t>(signo)] == 0 || !signals::is_realtime(signo)) {
                continue;
            }
            if (const auto dropped = signals::take_realtime_dropped(slot_, signo)) {
                for (receiver_state* r : receivers_) {
                    if (r->wanted.test(static_cast<std::size_t>(signo))) {
                        r->pending.add_overflow(signo, dropped);
                    }
                }
            }
        }
    }
    if (!terminating_.empty()) {
        if (const int signo = signals::take_termination(slot_)) on_terminate_(signo);
    }
}

void signal_dispatcher::claim_termination(std::span<const int> signals, unsigned force_exit_count,
                                          std::function<void(int)> on_terminate) {
    on_terminate_ = std::move(on_terminate);
    terminating_.reserve(signals.size());
    for (const int signo : signals) {
        if (std::find(terminating_.begin(), terminating_.end(), signo) != terminating_.end()) {
            continue;
        }
        if (signals::claim_termination(slot_, signo, force_exit_count)) {
            terminating_.push_back(signo);
        }
    }
}

void signal_dispatcher::release_termination() noexcept {
    if (!current()) {
        terminating_.clear();
        return;
    }
    for (const int signo : terminating_)
        signals::release_termination(slot_, signo);
    terminating_.clear();
}

}  // namespace anyio::detail
