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
// its exception (anyio::cancelled included). The call runs in a new task, a child of the
// task awaiting run_sync, in a cancel scope of its own:
//
// - run_sync not abandoned on cancel (the default): the waiting task shields its children,
//   so cancelling it does not cancel the call; the call finishes, then the function.
// - abandon_on_cancel: cancelling the waiting task cancels a call in progress (it throws
//   `cancelled` in the worker), and every from_thread call the worker makes afterwards
//   throws `cancelled` at once, as does any call made after the loop ended.
//
// Called from any other thread than such a worker, or on an event loop's thread, they
// throw std::logic_error.

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

}  // namespace anyio::from_thread
