#pragma once
// A loop's share of the worker-thread machinery: the gate other threads post through, and
// the default limiter of to_thread::run_sync. Created on first use (loop::threads()),
// destroyed first when the loop ends.

#include <anyio/capacity_limiter.hpp>

#include "thread/loop_gate.hpp"

#include <cstddef>
#include <memory>

namespace anyio::detail {

class thread_support {
public:
    // AnyIO's default: 40 worker threads at a time per loop.
    static constexpr std::size_t default_thread_tokens = 40;

    explicit thread_support(loop& l);
    thread_support(const thread_support&) = delete;
    thread_support& operator=(const thread_support&) = delete;
    // Closes the gate: calls still pending settle with loop_ended_error(), later posts
    // fail.
    ~thread_support();

    std::shared_ptr<loop_gate> gate;
    capacity_limiter default_limiter{default_thread_tokens};
};

}  // namespace anyio::detail
