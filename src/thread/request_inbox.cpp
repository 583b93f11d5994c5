#include "thread/request_inbox.hpp"

#include <anyio/exceptions.hpp>
#include <anyio/task_group.hpp>

#include <utility>

namespace anyio::detail {

namespace {
task<void> run_call(std::shared_ptr<thread_request> call, const serve_policy* policy) {
    co_await call->run(policy->hold_through_cancellation, policy->errors);
}
}  // namespace

request_inbox::~request_inbox() {
    fail_pending(&dropped_call_error);
}

void request_inbox::push(std::shared_ptr<thread_request> call) noexcept {
    if (closed_) {
        call->settle(reject_with_());
        return;
    }
    queue_.push_back(std::move(call));
    if (waiter_ != nullptr) std::exchange(waiter_, nullptr)->wake();
}

void request_inbox::close(error_factory reject_with) noexcept {
    if (closed_) return;
    closed_ = true;
    reject_with_ = std::move(reject_with);
    if (waiter_ != nullptr) std::exchange(waiter_, nullptr)->wake();
}

void request_inbox::fail_pending(const error_factory& make_error) noexcept {
    for (const auto& call : std::exchange(queue_, {}))
        call->settle(make_error());
}

request_inbox::next_awaiter request_inbox::next() noexcept {
    return next_awaiter(*this);
}

task<void> request_inbox::serve(task_group& group, const serve_policy& policy) {
    policy_ = &policy;
    for (;;) {
        std::vector<std::shared_ptr<thread_request>> batch = co_await next();
        if (batch.empty()) break;
        for (auto& call : batch)
            group.start_soon(run_call, std::move(call), &policy);
    }
    policy_ = nullptr;
}

bool request_inbox::next_awaiter::await_suspend(std::coroutine_handle<> h) {
    if (inbox_.policy_->hold_through_cancellation) {
        // No checkpoint: a cancellation is only noted, here or when delivered (withdraw).
        task_ = &require_task("request_inbox::serve");
        task_->resume_point = h;
        if (effectively_cancelled(*task_)) note_cancelled();
    } else if (!begin(h, "request_inbox::serve")) {
        note_cancelled();
        return false;
    }
    if (!inbox_.queue_.empty() || inbox_.closed_) {
        yield_now();
        return true;
    }
    inbox_.waiter_ = this;
    park();
    return true;
}

std::vector<std::shared_ptr<thread_request>> request_inbox::next_awaiter::await_resume() {
    throw_if_aborted();
    return std::exchange(inbox_.queue_, {});
}

void request_inbox::next_awaiter::note_cancelled() const noexcept {
    if (inbox_.policy_->cancel_seen != nullptr) inbox_.policy_->cancel_seen->store(true);
}

bool request_inbox::next_awaiter::withdraw() noexcept {
    note_cancelled();
    // Holding: "cannot abort now"; the task stays parked until a call or the close comes.
    if (inbox_.policy_->hold_through_cancellation) return false;
    inbox_.waiter_ = nullptr;
    return true;
}

}  // namespace anyio::detail
