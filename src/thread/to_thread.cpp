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

// What a worker's from_thread call cut short by cancellation throws in the worker.
std::exception_ptr from_thread_call_cancelled(cancel_origin origin) {
    if (origin == cancel_origin::enclosing_scope) return waiting_task_cancelled_error();
    return std::make_exception_ptr(
        worker_cancelled("anyio::from_thread: the call ended with anyio::cancelled, though the "
                         "task waiting for this worker thread was not cancelled"));
}
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
    const bool hold = !options.abandon_on_cancel;
    std::exception_ptr error;
    try {
        job->gate_ = support.gate;
        worker_pool::instance().submit(job);
        // Not abandoned on cancel: cancellation only tells the worker (check_cancelled),
        // and the from_thread calls (children of the group) run shielded from it.
        const serve_policy policy{hold, &job->cancelled_, &from_thread_call_cancelled};
        co_await with_task_group([&job, &policy](task_group& group) -> task<void> {
            co_await job->inbox_->serve(group, policy);
        });
    } catch (const cancelled&) {
        // Holding, the group ends with the cancellation that the wait did not act on: the
        // result is returned and the next checkpoint raises (Trio's semantics).
        if (!hold || !job->finished_) error = std::current_exception();
    } catch (...) {
        error = std::current_exception();
    }
    if (!job->finished_) {
        // Abandoned (or never submitted): whatever the worker still sends is refused.
        job->cancelled_.store(true);
        job->inbox_->close(&waiting_task_cancelled_error);
        job->inbox_->fail_pending(&waiting_task_cancelled_error);
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
        self->inbox_->close(&dropped_call_error);  // the worker makes no call any more
    });
}

void worker_job::deliver(const std::shared_ptr<thread_request>& call) {
    call->gate = gate_;
    const bool posted =
        gate_->post_call(call, [self = shared_from_this(), call] { self->inbox_->push(call); });
    if (!posted) call->settle(loop_ended_error());
}

void worker_job::check_cancelled() const {
    if (cancelled_.load()) {
        throw worker_cancelled(
            "anyio::from_thread::check_cancelled: the task waiting for this worker thread was "
            "cancelled");
    }
}

void worker_job::rethrow_if_failed() {
    if (!error_) return;
    // Moved out, so the exception object lives and dies on the loop thread alone: the
    // worker may drop the job last, and the exception's reference count (inside the C++
    // runtime, invisible to ThreadSanitizer) would then be the only order between the
    // task's catch handler and the worker freeing the object.
    std::exception_ptr error = std::exchange(error_, nullptr);
    if (cancelled_.load() && effectively_cancelled(require_task("anyio::to_thread::run_sync"))) {
        // The worker stopped because the task was cancelled: in the task that is
        // `cancelled` again, for its cancel scope to catch.
        try {
            std::rethrow_exception(error);
        } catch (const worker_cancelled&) {
            throw cancelled{};
        } catch (...) {
            // Something else: as it is, below.
        }
    }
    std::rethrow_exception(std::move(error));
}

}  // namespace detail
}  // namespace anyio
