#pragma once
// Where thread calls wait on the loop until a serving task starts them.
//
// Calls arrive from posted callbacks, which run outside any task and so cannot start
// tasks; a serving task (the to_thread task waiting for its worker, or a portal's host
// task) takes them from here and starts each as a child of its task group. Loop thread
// only.

#include <anyio/detail/runtime.hpp>
#include <anyio/detail/thread_call.hpp>
#include <anyio/task.hpp>

#include "thread/thread_errors.hpp"

#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <vector>

namespace anyio {
class task_group;
}

namespace anyio::detail {

// How a serving task treats its own cancellation and runs the calls it starts.
struct serve_policy {
    // Trio's to_thread without abandon_on_cancel: cancelling the serving task neither ends
    // serving nor reaches the calls (each runs shielded); it only sets *cancel_seen. Else
    // cancellation ends serving with `cancelled` and cancels the calls in progress.
    bool hold_through_cancellation = false;
    // Set once the serving task is seen cancelled (null: nobody asks).
    std::atomic<bool>* cancel_seen = nullptr;
    // The error a call cut short by cancellation is settled with.
    cancellation_errors errors;
};

class request_inbox {
public:
    request_inbox() = default;
    request_inbox(const request_inbox&) = delete;
    request_inbox& operator=(const request_inbox&) = delete;
    // Settles calls still queued with dropped_call_error().
    ~request_inbox();

    // Queues `call` and wakes the server; once closed, settles it with the close error.
    void push(std::shared_ptr<thread_request> call) noexcept;
    // Accepts nothing more (later pushes are settled with an error from `reject_with`)
    // and wakes the server, which still gets what is queued. Idempotent: the first
    // close's error stays.
    void close(error_factory reject_with) noexcept;
    // Settles every queued call with an error from `make_error` (nobody will serve them).
    void fail_pending(const error_factory& make_error) noexcept;

    // Starts every call that arrives as a child task of `group` until the inbox is closed
    // and empty. A checkpoint at each wait (unless the policy holds through cancellation).
    // `policy` must outlive the calls: the group's scope, say.
    task<void> serve(task_group& group, const serve_policy& policy);

private:
    class next_awaiter;
    // The calls queued now, waiting until there is one (or the inbox is closed: then an
    // empty batch).
    next_awaiter next() noexcept;

    std::vector<std::shared_ptr<thread_request>> queue_;
    bool closed_ = false;
    error_factory reject_with_ = &dropped_call_error;
    next_awaiter* waiter_ = nullptr;
    const serve_policy* policy_ = nullptr;  // while serving
};

class request_inbox::next_awaiter : protected blocking_operation {
public:
    explicit next_awaiter(request_inbox& inbox) noexcept : inbox_(inbox) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    std::vector<std::shared_ptr<thread_request>> await_resume();

private:
    friend class request_inbox;
    // The policy sees the serving task cancelled (and, unless it holds, it stops waiting).
    void note_cancelled() const noexcept;
    bool withdraw() noexcept override;
    void wake() noexcept { finish(); }
    request_inbox& inbox_;
};

}  // namespace anyio::detail
