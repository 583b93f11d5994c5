#pragma once
// Ending a child for good: process::stop's checks, and the shielded form that error and
// cancellation paths use (run_process, aclose).

#include <anyio/process.hpp>
#include <anyio/task.hpp>

#include <chrono>
#include <csignal>

namespace anyio::detail {

// std::invalid_argument for a negative grace or a signal number that is not one; the
// message starts with `who` ("anyio::process::stop: ", "anyio::open_process: termination_").
void check_stop_arguments(const char* who, std::chrono::milliseconds grace, int signo);

// child.stop(grace, signo) in a shielded scope, for code that is already unwinding: the
// whole grace is given even when the caller was cancelled. Returns once the child is
// reaped; never throws (a child someone else reaped is simply gone).
task<> stop_process(process& child, std::chrono::milliseconds grace, int signo = SIGTERM);

}  // namespace anyio::detail
