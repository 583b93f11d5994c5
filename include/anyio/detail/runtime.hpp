#pragma once
// The core's view of a running task, shared by every awaitable in the public headers.
// Everything here is touched only by the thread that runs the task's loop.

#include <anyio/exceptions.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <limits>

namespace anyio {
class cancel_scope;
using clock = std::chrono::steady_clock;
}  // namespace anyio

namespace anyio::detail {

class loop;

// One parking primitive: a task blocked in an operation points at the operation's
// parker. Cancellation calls try_abort() at most once per delivery; the operation either
// withdraws itself and answers true (the task is then resumed and throws `cancelled`) or
// answers false ("cannot abort now": it completes or reports later).
class parker {
public:
    virtual bool try_abort() noexcept = 0;

protected:
    parker() = default;
    parker(const parker&) = default;
    parker& operator=(const parker&) = default;
    ~parker() = default;
};

// A task: one chain of coroutines awaiting each other, scheduled as a unit.
struct task_state {
    std::coroutine_handle<> resume_point;  // innermost suspended coroutine of the chain
    parker* parked = nullptr;              // set while blocked in an abortable operation
    cancel_scope* scope = nullptr;         // innermost cancel scope the task is in
    task_state* scope_prev = nullptr;      // links in scope->tasks_
    task_state* scope_next = nullptr;
    task_state* next_ready = nullptr;  // link in the loop's run queue
    loop* owner = nullptr;
    // If set, the loop calls this (once, clearing it) instead of resuming resume_point:
    // a task group child creates its coroutine only when it first runs, so children
    // waiting to start cost no coroutine frame.
    void (*start)(task_state&) noexcept = nullptr;
};

// A deadline in the loop's heap. `fire` runs on the loop thread when it expires.
struct timer_node {
    static constexpr std::size_t not_queued = std::numeric_limits<std::size_t>::max();
    clock::time_point when{};
    std::size_t heap_index = not_queued;
    void (*fire)(timer_node&) noexcept = nullptr;
    void* context = nullptr;  // what `fire` acts on
    [[nodiscard]] bool queued() const noexcept { return heap_index != not_queued; }
};

// The task running on this thread, or nullptr outside anyio::run.
task_state* current_task() noexcept;
// Like current_task(), but throws std::logic_error naming `what` when called outside a
// task (the "use from the wrong place" error).
task_state& require_task(const char* what);

// Appends the task to its loop's run queue; it resumes at task.resume_point.
void schedule(task_state& task) noexcept;

// True when a checkpoint in this task must throw `cancelled`: some enclosing scope was
// cancelled and no shield stands between it and the task.
bool effectively_cancelled(const task_state& task) noexcept;

void add_timer(loop& l, timer_node& timer);
void remove_timer(loop& l, timer_node& timer) noexcept;

// Base for every operation that blocks a task: checks cancellation first (every
// blocking call is a checkpoint), parks, and turns an abort into `cancelled`.
class blocking_operation : protected parker {
protected:
    // Returns false (do not suspend) when the task is already cancelled; the caller then
    // lets await_resume throw. Otherwise records where the task resumes.
    bool begin(std::coroutine_handle<> h, const char* what) {
        task_ = &require_task(what);
        if (effectively_cancelled(*task_)) {
            aborted_ = true;
            return false;
        }
        task_->resume_point = h;
        return true;
    }
    void park() noexcept { task_->parked = this; }
    // The operation finished: resume the task with the result.
    void finish() noexcept {
        task_->parked = nullptr;
        schedule(*task_);
    }
    // Suspend briefly without blocking (a schedule point), e.g. when a result is ready.
    void yield_now() noexcept { schedule(*task_); }
    // Inline on purpose: `cancelled` is then thrown in the awaiting coroutine's own frame.
    // The unwinder decodes every frame between a throw and its catch twice (search and
    // cleanup phases); one frame more was a third of a throw's cost (docs/benchmarks.md).
    void throw_if_aborted() const {
        if (aborted_) throw cancelled{};
    }
    // Withdraw the operation from whatever it waits on; false if it cannot be withdrawn.
    virtual bool withdraw() noexcept = 0;

    task_state* task_ = nullptr;
    bool aborted_ = false;

private:
    bool try_abort() noexcept final {
        if (!withdraw()) return false;
        aborted_ = true;
        finish();
        return true;
    }
};

}  // namespace anyio::detail
