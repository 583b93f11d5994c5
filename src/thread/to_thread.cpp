#include <anyio/to_thread.hpp>

#include <anyio/cancel_scope.hpp>
#include <anyio/task_group.hpp>

#include "core/loop.hpp"
#include "thread/loop_gate.hpp"
#include "thread/request_inbox.hpp"
#include "thread/thread_errors.hpp"
#include "thread/thread_support.hpp"
#include "thread/worker_pool.hpp"

#include <stdexcept>
#include <utility>

namespace anyio {

namespace to_thread {

capacity_limiter& current_default_thread_limiter() {
    detail::loop* lp = detail::loop::current();
    if (lp == nullptr) {
        throw std::logic_error(
            "anyio::to_thread::current_default_thread_limiter must be called on a thread "
            "running anyio::run");
    }
    return lp->threads().default_limiter;
}

}  // namespace to_thread

namespace detail {

namespace {
thread_local worker_job* running_job = nullptr;
}  // namespace

worker_job::worker_job() : inbox_(std::make_unique<request_inbox>()) {}

worker_job::~worker_job() = default;

worker_job* worker_job::current() noexcept {
    return running_job;
}

task<void> worker_job::run_in_worker(std::shared_ptr<worker_job> job,
                                     to_thread::run_sync_options options) {
    thread_support& support = require_task("anyio::to_thread::run_sync").owner->threads();
    capacity_limiter& limiter =
        options.limiter != nullptr ? *options.limiter : support.default_limiter;
    co_await limiter.acquire();
    std::exception_ptr error;
    try {
        job->gate_ = support.gate;
        worker_pool::instance().submit(job);
        // Not abandoned on cancel: shielded, so only the worker's return ends the wait and
        // from_thread calls (children of this scope) are not cancelled from outside.
        cancel_scope waiting(clock::time_point::max(), !options.abandon_on_cancel);
        co_await waiting.run([&job]() -> task<void> {
            co_await with_task_group(
                [&job](task_group& group) -> task<void> { co_await job->inbox_->serve(group); });
        });
    } catch (...) {
        error = std::current_exception();
    }
    if (!job->finished_) {
        // Abandoned (or never submitted): whatever the worker still sends is refused.
        job->inbox_->close(&cancelled_error);
        job->inbox_->fail_pending(&cancelled_error);
    }
    limiter.release();
    if (error) std::rethrow_exception(error);
}

void worker_job::execute() noexcept {
    running_job = this;
    try {
        invoke();
    } catch (...) {
        error_ = std::current_exception();
    }
    running_job = nullptr;
}

void worker_job::publish() noexcept {
    gate_->post([self = shared_from_this()] {
        self->finished_ = true;
        self->inbox_->close(&cancelled_error);
    });
}

void worker_job::deliver(const std::shared_ptr<thread_request>& call) {
    call->gate = gate_;
    const bool posted =
        gate_->post_call(call, [self = shared_from_this(), call] { self->inbox_->push(call); });
    if (!posted) call->settle(cancelled_error());
}

void worker_job::rethrow_if_failed() {
    // Moved out, so the exception object lives and dies on the loop thread alone: the
    // worker may drop the job last, and the exception's reference count (inside the C++
    // runtime, invisible to ThreadSanitizer) would then be the only order between the
    // task's catch handler and the worker freeing the object.
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace detail
}  // namespace anyio
