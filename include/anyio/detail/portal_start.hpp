#pragma once
// The call behind blocking_portal::start_task (AnyIO's BlockingPortal.start_task): the task
// gets a task_status whose started() wakes the thread waiting in start_task with the value,
// and then runs on as the task of the future start_task returns.

#include <anyio/detail/thread_call.hpp>
#include <anyio/task_group.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anyio::detail {

// What started() hands over: the value, or true for task_status<void>.
template <class T>
using started_value_t = std::conditional_t<std::is_void_v<T>, bool, T>;

// fn(task_status<T>&, args...) called with the copies returns a task...
template <class F, class T, class... Args>
concept startable_task = task_function_of_copies < std::decay_t<F>,
        task_status<T>
&, std::decay_t<Args>... > ;

// ... of this value type.
template <class F, class T, class... Args>
using start_result_t = typename copies_invoke_result_t<std::decay_t<F>, task_status<T>&,
                                                       std::decay_t<Args>...>::value_type;

template <class R, class T, class F, class... Args>
class start_call final : public thread_result<R> {
public:
    template <class G, class... A>
    explicit start_call(G&& g, A&&... a) : fn_(std::forward<G>(g)), args_(std::forward<A>(a)...) {}

    // The asking thread: blocks until the task called started() and returns what it
    // passed. If the call ended first, rethrows its error (std::runtime_error if it just
    // returned). Once.
    started_value_t<T> take_started() {
        if (!this->wait_started()) {
            this->rethrow_if_failed();
            throw std::runtime_error(
                "anyio::blocking_portal::start_task: the task ended without calling started()");
        }
        return std::move(*value_);
    }

private:
    // Loop thread, inside started(): the value moves to the asking thread's side.
    static void on_started(void* self) {
        auto* call = static_cast<start_call*>(self);
        call->value_.emplace(std::move(*call->state_->value));
        call->report_started();
    }

    // Runs once: the copies are moved into the call, as task_group::start does.
    task<void> invoke() override {
        state_ = std::make_shared<start_state<T>>();
        state_->notify_thread = &start_call::on_started;
        state_->notify_context = this;
        task_status<T> status = status_access::make(state_);
        // Named before the await: g++ 12 and temporaries inside co_await (README).
        task<R> body = std::apply(
            [this, &status](auto&... copy) { return std::invoke(fn_, status, std::move(copy)...); },
            args_);
        if constexpr (std::is_void_v<R>) {
            co_await std::move(body);
        } else {
            this->slot_.set(co_await std::move(body));
        }
    }

    F fn_;
    std::tuple<Args...> args_;
    std::shared_ptr<start_state<T>> state_;  // loop thread
    // Written on the loop thread before report_started(), read by the asking thread after
    // wait_started(): the call's mutex orders the two.
    std::optional<started_value_t<T>> value_;
};

template <class T, class F, class... Args>
using start_call_for =
    start_call<start_result_t<F, T, Args...>, T, std::decay_t<F>, std::decay_t<Args>...>;

// Null after a failed check_argument_copies (its message is then the only error).
template <class T, class F, class... Args>
auto make_start_call(F&& fn, Args&&... args) -> std::shared_ptr<start_call_for<T, F, Args...>> {
    if constexpr (check_argument_copies<std::decay_t<F>, task_status<T>&,
                                        std::decay_t<Args>...>()) {
        return std::make_shared<start_call_for<T, F, Args...>>(std::forward<F>(fn),
                                                               std::forward<Args>(args)...);
    } else {
        return nullptr;
    }
}

}  // namespace anyio::detail
