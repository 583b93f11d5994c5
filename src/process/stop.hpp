#pragma once
// Ending a child for good on the way out of an error or a cancellation.

#include <anyio/process.hpp>
#include <anyio/task.hpp>

#include <chrono>

namespace anyio::detail {

// Shielded from cancellation: sends SIGTERM and gives the child up to
// `grace` to exit (no SIGTERM for a zero grace), then SIGKILL, and reaps it. Returns once
// the child is reaped; never throws (a child someone else reaped is simply gone).
task<> stop_process(process& child, std::chrono::milliseconds grace);

}  // namespace anyio::detail
