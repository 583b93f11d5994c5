#pragma once
// anyio::to_thread::run_sync: run a blocking function in a worker thread without blocking
// the event loop (AnyIO's to_thread.run_sync).
//
//     std::string text = co_await anyio::to_thread::run_sync(read_whole_file, path);
//
// Worker threads come from one process-wide cache: a thread that finished a call waits for
// the next one and retires after 10 s idle. They block every asynchronous signal, so
// process-directed signals land on threads that handle them. How many calls run at once is
// bounded per loop by a capacity_limiter: current_default_thread_limiter() (40 tokens, as
// in AnyIO) or the one given in run_sync_options.
//
// Inside the function, anyio::from_thread::run / run_sync (<anyio/from_thread.hpp>) call
// back into the loop that is waiting for it, and from_thread::check_cancelled() asks
// whether the waiting task has been cancelled.

#include <anyio/capacity_limiter.hpp>
#include <anyio/detail/awaited_callable.hpp>
#include <anyio/detail/thread_call.hpp>
#include <anyio/task.hpp>

#include <atomic>
#include <concepts>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace anyio::to_thread {

struct run_sync_options {
    // Bounds how many calls run at once; null means current_default_thread_limiter().
    // Must outlive the call.
    capacity_limiter* limiter = nullptr;
    // false (the default): cancellation waits for the function to return, and run_sync
    // returns its result; the next checkpoint then throws `cancelled` (Trio's semantics).
    // The function can notice the cancellation with from_thread::check_cancelled() and
    // stop early: the worker_cancelled it throws, escaping the function, reaches the task
    // as `cancelled`.
    // true: cancellation makes run_sync throw `cancelled` at once and releases the token;
    // the thread runs on, and its result is dropped when it returns (check_cancelled and
    // from_thread calls then throw worker_cancelled in it).
    bool abandon_on_cancel = false;
};

// The current loop's default limiter for run_sync: 40 tokens when the loop starts; change
// them with set_total_tokens. Each loop has its own. Throws std::logic_error outside a
// task run by anyio::run.
[[nodiscard]] capacity_limiter& current_default_thread_limiter();

}  // namespace anyio::to_thread

namespace anyio::detail {

class request_inbox;  // src/thread/request_inbox.hpp

// One function call handed to a worker thread. Shared by the awaiting task, the worker
// and the loop callbacks, so an abandoned call is freed by whichever lets go last.
class worker_job : public std::enable_shared_from_this<worker_job> {
public:
    worker_job(const worker_job&) = delete;
    worker_job& operator=(const worker_job&) = delete;
    virtual ~worker_job();

    // Loop thread: takes a token, hands the job to a worker and serves its from_thread
    // calls until it returns (or, when abandoning, until cancellation). Rethrows
    // `cancelled`, never the function's own exception (see rethrow_if_failed).
    static task<void> run_in_worker(std::shared_ptr<worker_job> job,
                                    to_thread::run_sync_options options);

    // Worker thread: runs the function, with from_thread calls going to this job's loop.
    void execute() noexcept;
    // Worker thread, after execute(): tells the loop (dropped if the loop has ended).
    void publish() noexcept;

    // Worker thread: the job running on this thread (from_thread's target), or null.
    [[nodiscard]] static worker_job* current() noexcept;
    // Worker thread: posts `call` to the job's loop, to run as a child of the waiting
    // task; settles it with worker_cancelled if the task no longer waits or the loop ended.
    void deliver(const std::shared_ptr<thread_request>& call);
    // Worker thread: throws worker_cancelled if the waiting task has been cancelled.
    void check_cancelled() const;

protected:
    worker_job();
    virtual void invoke() = 0;
    // Loop thread, after run_in_worker: rethrows the function's exception, if any (a
    // worker_cancelled as `cancelled` while the task is cancelled). Once.
    void rethrow_if_failed();

private:
    // Written by the worker before publish(); read on the loop after the job finished:
    // loop::post's mutex orders the two.
    std::exception_ptr error_;
    // Set on the loop thread before the job is submitted (the pool's mutex publishes it).
    std::shared_ptr<loop_gate> gate_;
    // Loop thread only: from_thread calls waiting to start, and whether the worker returned.
    std::unique_ptr<request_inbox> inbox_;
    bool finished_ = false;
    // Set on the loop thread once the waiting task is seen cancelled (or abandons the
    // job); read by the worker (check_cancelled).
    std::atomic<bool> cancelled_{false};
};

template <class R>
class worker_result : public worker_job {
public:
    // Loop thread, once the job finished: the value, or the function's exception.
    R take() {
        rethrow_if_failed();
        return slot_.take();
    }

protected:
    // Written by the worker in invoke(); read on the loop after the job finished.
    result_slot<R> slot_;
};

template <class R, class F, class... Args>
class worker_call final : public worker_result<R> {
public:
    template <class G, class... A>
    explicit worker_call(G&& g, A&&... a)
        : fn_(std::in_place, std::forward<G>(g)), args_(std::in_place, std::forward<A>(a)...) {}

private:
    // Runs once: the copies are moved into the call (as std::thread), then destroyed here
    // on the worker, before the loop hears of the result: when run_sync returns, nothing of
    // the function (its captures included) is still alive on another thread.
    void invoke() override {
        struct release_copies {
            worker_call& call;
            ~release_copies() {
                call.fn_.reset();
                call.args_.reset();
            }
        } release{*this};  // also when the function throws
        this->slot_.fill(*fn_, *args_);
    }

    std::optional<F> fn_;
    std::optional<std::tuple<Args...>> args_;
};

template <class R>
task<R> await_worker(std::shared_ptr<worker_result<R>> job, to_thread::run_sync_options options) {
    co_await worker_job::run_in_worker(job, options);
    co_return job->take();
}

template <class F, class... Args>
concept worker_function = callable_with_copies<std::decay_t<F>, std::decay_t<Args>...> &&
    !std::same_as<std::decay_t<F>, to_thread::run_sync_options>;

template <class F, class... Args>
using worker_result_t = copies_invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

}  // namespace anyio::detail

namespace anyio::to_thread {

// Runs fn(args...) in a worker thread and returns its result, or rethrows its exception
// in the awaiting task. fn and args are decay-copied when run_sync is called and the
// copies passed to fn as rvalues in the worker, as std::thread does: a `T&` parameter is a
// compile error, pass std::ref(x) to share x (like task_group::start_soon).
//
// A checkpoint: taking the limiter's token is, and cancellation while waiting for the
// token throws `cancelled` (the function never runs). Once the function runs, see
// run_sync_options::abandon_on_cancel. Loop thread only; the function itself runs on a
// worker thread and must not touch the loop except through anyio::from_thread.
template <class F, class... Args>
requires detail::worker_function<F, Args...>
[[nodiscard]] auto run_sync(run_sync_options options, F&& fn, Args&&... args)
    -> task<detail::worker_result_t<F, Args...>> {
    using result_t = detail::worker_result_t<F, Args...>;
    static_assert(!std::is_reference_v<result_t>,
                  "anyio::to_thread::run_sync: return a value (or a pointer), not a reference");
    detail::check_awaited_callable<F>();
    if constexpr (detail::check_argument_copies<std::decay_t<F>, std::decay_t<Args>...>()) {
        std::shared_ptr<detail::worker_result<result_t>> job =
            std::make_shared<detail::worker_call<result_t, std::decay_t<F>, std::decay_t<Args>...>>(
                std::forward<F>(fn), std::forward<Args>(args)...);
        return detail::await_worker(std::move(job), options);
    } else {
        std::abort();
    }
}

// run_sync with the default options: the loop's default limiter, not abandoned on cancel.
template <class F, class... Args>
requires detail::worker_function<F, Args...>
[[nodiscard]] auto run_sync(F&& fn, Args&&... args) -> task<detail::worker_result_t<F, Args...>> {
    return run_sync(run_sync_options{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace anyio::to_thread
