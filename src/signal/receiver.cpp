#include <anyio/signals.hpp>

#include "core/loop.hpp"
#include "signal/dispatcher.hpp"
#include "signal/receiver_state.hpp"
#include "signal/registry.hpp"

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <utility>

namespace anyio {

namespace detail {

void receiver_state::deliver(int signo, unsigned long long count) noexcept {
    auto it = std::find_if(pending.begin(), pending.end(),
                           [signo](const pending_entry& e) { return e.signo == signo; });
    if (it != pending.end()) {
        it->count += count;
    } else {
        pending.push_back({signo, count});  // capacity reserved at open: never allocates
    }
    if (waiter != nullptr && waiter->waiting_) {
        waiter->waiting_ = false;
        waiter->wake();
    }
}

void receiver_state::close() noexcept {
    if (!open) return;
    open = false;
    if (waiter != nullptr) {
        receive_awaiter* w = std::exchange(waiter, nullptr);
        w->state_ = nullptr;
        if (w->waiting_) {
            w->waiting_ = false;
            w->wake();
        }
    }
    const std::vector<int> redeliver = dispatcher->remove(*this);
    // Nobody else got these: hand them to whatever handles the signal now (the restored
    // previous disposition, or anyio::run's Ctrl+C handling), on this thread.
    for (const int signo : redeliver)
        ::raise(signo);
}

bool receive_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (state_ == nullptr || !state_->open) {
        throw closed_resource_error("anyio::signal_receiver::receive: the receiver is closed");
    }
    if (state_->waiter != nullptr) {
        throw busy_resource_error(
            "anyio::signal_receiver::receive: another task is already receiving on this receiver");
    }
    if (!begin(h, "signal_receiver::receive()")) return false;
    if (task_->owner != state_->owner) {
        throw std::logic_error(
            "anyio::signal_receiver::receive: the receiver belongs to another thread's loop");
    }
    state_->waiter = this;
    if (!state_->pending.empty()) {
        yield_now();  // a checkpoint even when a signal is ready
        return true;
    }
    waiting_ = true;
    park();
    return true;
}

bool receive_awaiter::withdraw() noexcept {
    waiting_ = false;
    if (state_ != nullptr) state_->waiter = nullptr;
    return true;
}

int receive_awaiter::await_resume() {
    if (aborted_) throw cancelled{};
    if (state_ == nullptr) {
        throw closed_resource_error("anyio::signal_receiver::receive: the receiver was closed");
    }
    state_->waiter = nullptr;
    const int signo = state_->pending.front().signo;
    state_->pending.erase(state_->pending.begin());
    return signo;
}

}  // namespace detail

signal_receiver::signal_receiver(std::unique_ptr<detail::receiver_state> state) noexcept
    : state_(std::move(state)) {}

signal_receiver::signal_receiver(signal_receiver&& other) noexcept = default;

signal_receiver& signal_receiver::operator=(signal_receiver&& other) noexcept {
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}

signal_receiver::~signal_receiver() {
    close();
}

void signal_receiver::close() noexcept {
    if (state_) state_->close();
}

bool signal_receiver::is_open() const noexcept {
    return state_ && state_->open;
}

signal_receiver open_signal_receiver(std::span<const int> signals) {
    detail::task_state& task = detail::require_task("open_signal_receiver()");
    detail::signals::validate(signals);
    auto state = std::make_unique<detail::receiver_state>();
    state->owner = task.owner;
    for (const int signo : signals) {
        if (!state->wanted.test(static_cast<std::size_t>(signo))) {
            state->wanted.set(static_cast<std::size_t>(signo));
            state->signals.push_back(signo);
        }
    }
    state->pending.reserve(state->signals.size());
    task.owner->signals().add(*state);
    return signal_receiver(std::move(state));
}

}  // namespace anyio
