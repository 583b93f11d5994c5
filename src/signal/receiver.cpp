#include <anyio/signals.hpp>

#include "core/loop.hpp"
#include "signal/dispatcher.hpp"
#include "signal/receiver_state.hpp"
#include "signal/registry.hpp"
#include "signal/request_tracker.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>

#include <unistd.h>
#include <stdexcept>
#include <string>
#include <utility>

namespace anyio {

namespace detail {

void receiver_state::wake_waiter() noexcept {
    if (waiter != nullptr && waiter->waiting_) {
        waiter->waiting_ = false;
        waiter->wake();
    }
}

void receiver_state::close() noexcept {
    if (!open) return;
    open = false;
    if (waiter != nullptr) {
        receive_awaiter_base* w = std::exchange(waiter, nullptr);
        w->state_ = nullptr;
        if (w->waiting_) {
            w->waiting_ = false;
            w->wake();
        }
    }
    signals::send_to_process(dispatcher->remove(*this));
}

bool receive_awaiter_base::await_suspend(std::coroutine_handle<> h) {
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

bool receive_awaiter_base::withdraw() noexcept {
    waiting_ = false;
    if (state_ != nullptr) state_->waiter = nullptr;
    return true;
}

signal_info receive_awaiter_base::take_signal() {
    if (state_ == nullptr) {
        throw closed_resource_error("anyio::signal_receiver::receive: the receiver was closed");
    }
    state_->waiter = nullptr;
    return state_->pending.pop_front();
}

}  // namespace detail

void set_signal_request_window(std::chrono::nanoseconds window) {
    if (window.count() < 0) {
        throw std::invalid_argument("anyio::set_signal_request_window: the window is negative (" +
                                    std::to_string(window.count()) + " ns)");
    }
    detail::signals::request_window_ns.store(window.count());
}

std::chrono::nanoseconds signal_request_window() noexcept {
    return std::chrono::nanoseconds(detail::signals::request_window_ns.load());
}

void reset_signals_for_child() noexcept {
    detail::signals::reset_for_child();
}

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

signal_receiver open_signal_receiver(std::span<const int> signals, receiver_options options) {
    detail::task_state& task = detail::require_task("open_signal_receiver()");
    detail::signals::validate(signals, "anyio::open_signal_receiver");
    if (options.queue_capacity == 0 ||
        options.queue_capacity > receiver_options::max_queue_capacity) {
        throw std::invalid_argument("anyio::open_signal_receiver: queue_capacity " +
                                    std::to_string(options.queue_capacity) + " is not in 1.." +
                                    std::to_string(receiver_options::max_queue_capacity));
    }
    std::vector<int> distinct;
    for (const int signo : signals) {
        if (std::find(distinct.begin(), distinct.end(), signo) == distinct.end()) {
            distinct.push_back(signo);
        }
    }
    const auto realtime = static_cast<std::size_t>(std::count_if(
        distinct.begin(), distinct.end(), [](int signo) { return signo >= SIGRTMIN; }));
    auto state = std::make_unique<detail::receiver_state>(
        std::move(distinct), realtime, realtime != 0 ? options.queue_capacity : 0);
    state->owner = task.owner;
    static std::atomic<std::uint64_t> next_id{1};  // 0 names nobody (hand_over)
    state->id = next_id.fetch_add(1);
    task.owner->signals().add(*state);
    return signal_receiver(std::move(state));
}

}  // namespace anyio
