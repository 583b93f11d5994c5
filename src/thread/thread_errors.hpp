#pragma once
// The errors that settle thread calls which were cancelled or can no longer run. Each call
// gets an exception object of its own (a factory, not one shared exception_ptr): waiting
// threads rethrow and free it independently, and the object's reference count lives in
// the C++ runtime, where ThreadSanitizer cannot see it order two threads.
//
// None of them is anyio::cancelled: that one stays inside event loops (exceptions.hpp).

#include <anyio/exceptions.hpp>

#include <exception>
#include <functional>
#include <string>

namespace anyio::detail {

using error_factory = std::function<std::exception_ptr()>;

// A worker's from_thread call, or check_cancelled, once the task waiting for the worker
// was cancelled.
std::exception_ptr waiting_task_cancelled_error();
// A worker's from_thread call that reached its loop after the loop had ended.
std::exception_ptr loop_ended_error();
// A call refused by a portal that has stopped; `signo` is the signal that stopped it (0:
// stop()).
std::exception_ptr portal_closed_error(int signo);
// The message of that error, after `what` (the refusing function).
std::string portal_closed_message(const char* what, int signo);
// A call that nothing will serve any more (an inbox destroyed with calls still in it).
std::exception_ptr dropped_call_error();

}  // namespace anyio::detail
