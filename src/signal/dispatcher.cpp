#include "signal/dispatcher.hpp"

#include "core/loop.hpp"
#include "signal/receiver_state.hpp"
#include "signal/registry.hpp"

#include <algorithm>
#include <utility>

namespace anyio::detail {

signal_dispatcher::signal_dispatcher(loop& owner)
    : owner_(owner), slot_(signals::acquire_slot(owner.waker())) {}

signal_dispatcher::~signal_dispatcher() {
    if (on_keyboard_interrupt_) release_keyboard_interrupt();
    signals::release_slot(slot_);
}

void signal_dispatcher::add(receiver_state& receiver) {
    // Deliver what already arrived to the receivers that were open when it arrived.
    dispatch();
    receivers_.reserve(receivers_.size() + 1);
    signals::subscribe(slot_, receiver.signals);
    for (const int signo : receiver.signals)
        ++loop_refs_[static_cast<std::size_t>(signo)];
    receivers_.push_back(&receiver);
    receiver.dispatcher = this;
}

std::vector<int> signal_dispatcher::remove(receiver_state& receiver) noexcept {
    dispatch();
    std::erase(receivers_, &receiver);
    std::vector<int> orphaned;
    for (const int signo : receiver.signals) {
        const bool last_in_loop = --loop_refs_[static_cast<std::size_t>(signo)] == 0;
        const bool no_receiver_left = signals::unsubscribe(slot_, signo, last_in_loop);
        if (last_in_loop) {
            // Arrived between dispatch() and unsubscribe(): this receiver's to hand on.
            const auto late = signals::take(slot_, signo);
            if (late.count != 0) receiver.deliver(signo, late.count);
        }
        if (no_receiver_left) orphaned.push_back(signo);
    }
    std::vector<int> redeliver;
    for (const auto& entry : receiver.pending) {
        if (std::find(orphaned.begin(), orphaned.end(), entry.signo) != orphaned.end()) {
            redeliver.push_back(entry.signo);
        }
    }
    receiver.pending.clear();
    receiver.dispatcher = nullptr;
    return redeliver;
}

void signal_dispatcher::dispatch() noexcept {
    struct arrival {
        unsigned long long sequence;
        int signo;
        unsigned count;
    };
    std::array<arrival, _NSIG> arrivals{};
    std::size_t n = 0;
    for (int signo = 1; signo <= signals::max_signal; ++signo) {
        if (loop_refs_[static_cast<std::size_t>(signo)] == 0) continue;
        const auto o = signals::take(slot_, signo);
        if (o.count != 0) arrivals[n++] = {o.first_sequence, signo, o.count};
    }
    std::sort(arrivals.begin(), arrivals.begin() + static_cast<std::ptrdiff_t>(n),
              [](const arrival& a, const arrival& b) { return a.sequence < b.sequence; });
    for (std::size_t i = 0; i < n; ++i) {
        for (receiver_state* r : receivers_) {
            if (r->wanted.test(static_cast<std::size_t>(arrivals[i].signo))) {
                r->deliver(arrivals[i].signo, arrivals[i].count);
            }
        }
    }
    if (on_keyboard_interrupt_ && signals::take_keyboard_interrupts(slot_) != 0) {
        on_keyboard_interrupt_();
    }
}

bool signal_dispatcher::claim_keyboard_interrupt(std::function<void()> on_interrupt) {
    if (!signals::claim_keyboard_interrupt(slot_)) return false;
    on_keyboard_interrupt_ = std::move(on_interrupt);
    return true;
}

void signal_dispatcher::release_keyboard_interrupt() noexcept {
    if (!on_keyboard_interrupt_) return;
    on_keyboard_interrupt_ = nullptr;
    signals::release_keyboard_interrupt(slot_);
}

}  // namespace anyio::detail
