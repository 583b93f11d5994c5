#pragma once
// The door from other threads into one loop that stays safe after the loop is gone.
//
// loop::post needs a live loop; a worker thread whose task stopped waiting (abandon on
// cancel) or a thread calling into a stopped portal cannot know whether it still is. The
// gate is shared (refcounted) by everyone who may post, and the loop closes it when it
// ends: posting then fails instead of touching freed memory.
//
// The gate also tracks the thread calls (thread_request) posted through it until they are
// settled: closing settles those still pending with the close error, so a thread blocked
// on a call whose callback the dying loop never ran wakes up.

#include <anyio/detail/thread_call.hpp>

#include "thread/thread_errors.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace anyio::detail {

class loop;

class loop_gate {
public:
    explicit loop_gate(loop& l) noexcept : loop_(&l) {}
    loop_gate(const loop_gate&) = delete;
    loop_gate& operator=(const loop_gate&) = delete;
    ~loop_gate() = default;

    // Any thread: runs `fn` on the loop thread during a coming tick; false (and `fn`
    // dropped at once) if the gate is closed.
    bool post(std::function<void()> fn);
    // Like post, and tracks `call` until settled. `call->gate` must already be this gate.
    bool post_call(const std::shared_ptr<thread_request>& call, std::function<void()> fn);
    // thread_request::settle: stop tracking `call`.
    void forget(const thread_request& call) noexcept;

    // Loop thread: refuses further posts and settles every tracked call with an error
    // made by `make_error`. Idempotent.
    void close(const error_factory& make_error) noexcept;

private:
    std::mutex mutex_;
    loop* loop_;                                              // guarded by mutex_; null once closed
    std::vector<std::shared_ptr<thread_request>> in_flight_;  // guarded by mutex_
};

}  // namespace anyio::detail
