#pragma once
// anyio::from_thread: from inside a function that anyio::to_thread::run_sync runs in a
// worker thread, call back into the event loop that is waiting for it (AnyIO's
// from_thread.run / run_sync).
//
//     int answer = co_await anyio::to_thread::run_sync([] {
//         return anyio::from_thread::run([]() -> anyio::task<int> {
//             co_await anyio::sleep(std::chrono::milliseconds(1));
//             co_return 42;
//         });
//     });
//
// Both block the worker until the loop has run the call, then return its value or rethrow
// its exception. The call runs in a new task, a child of the task awaiting run_sync, in a
// cancel scope of its own:
//
// - run_sync not abandoned on cancel (the default): cancelling the waiting task does not
//   cancel the call (it runs shielded); the call finishes, then the function. The function
//   learns of the cancellation by asking check_cancelled().
// - abandon_on_cancel: cancelling the waiting task cancels a call in progress, and every
//   from_thread call the worker makes afterwards fails at once, as does any call made
//   after the loop ended.
//
// What the worker sees. anyio::cancelled never leaves the loop: it is no std::exception,
// and a worker has no cancel scope to catch it. A call cut short by cancellation, refused,
// or a check_cancelled() that finds the waiting task cancelled, throws
// anyio::worker_cancelled (a std::runtime_error saying what happened) in the worker. Let it
// propagate out of the function: run_sync then raises `cancelled` in the waiting task
// (which is cancelled), so its cancel scope catches it as it would any cancellation
// (AnyIO raises its backend's cancellation exception in the worker to the same end).
// Should the task not be cancelled (a worker_cancelled kept from elsewhere), the
// worker_cancelled reaches it as an ordinary exception.
//
// Called from any other thread than such a worker, or on an event loop's thread, they
// throw std::logic_error (AnyIO's RuntimeError).

#include <anyio/detail/thread_call.hpp>
#include <anyio/task.hpp>

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace anyio::detail {
// Posts `call` to the loop of the to_thread job running on this thread; throws
// std::logic_error naming `what` if this thread is not such a worker.
void submit_from_worker(const std::shared_ptr<thread_request>& call, const char* what);
}  // namespace anyio::detail

namespace anyio::from_thread {

// Runs fn(args...), a callable returning anyio::task<T>, as a task on the loop and blocks
// until it finished; returns its T or rethrows. fn and args are decay-copied and live until
// the task finished; the copies are passed as rvalues, as std::thread does (a `T&`
// parameter is a compile error: pass std::ref(x) to share x).
template <class F, class... Args>
requires detail::task_function_of_copies<std::decay_t<F>, std::decay_t<Args>...>
auto run(F&& fn, Args&&... args) -> detail::call_result_t<F, Args...> {
    auto call = detail::make_thread_call(std::forward<F>(fn), std::forward<Args>(args)...);
    detail::submit_from_worker(call, "anyio::from_thread::run");
    return call->take();
}

// Runs the plain function fn(args...) on the loop's thread (inside a task, so it may use
// everything loop-thread-only) and blocks until it returned; returns its value or rethrows.
// Arguments as for run.
template <class F, class... Args>
requires detail::thread_callable<F, Args...> &&
    (!detail::task_function_of_copies<std::decay_t<F>, std::decay_t<Args>...>)auto run_sync(
        F&& fn, Args&&... args) -> detail::call_result_t<F, Args...> {
    auto call = detail::make_thread_call(std::forward<F>(fn), std::forward<Args>(args)...);
    detail::submit_from_worker(call, "anyio::from_thread::run_sync");
    return call->take();
}

// Throws anyio::worker_cancelled if the task waiting for this worker thread has been
// cancelled (AnyIO's from_thread.check_cancelled): with abandon_on_cancel, once it has
// abandoned the thread; without, once the waiting task is cancelled (it still waits), so
// that a long loop in the function can stop early:
//
//     co_await anyio::to_thread::run_sync([] {
//         for (auto& chunk : chunks) {
//             anyio::from_thread::check_cancelled();   // unwinds as `cancelled` in the task
//             process(chunk);
//         }
//     });
//
// Cheap (one atomic load): the loop sets a flag when it sees the task cancelled. Elsewhere
// than in such a worker: std::logic_error.
void check_cancelled();

}  // namespace anyio::from_thread
