#pragma once
// The service manager's watchdog (systemd's WatchdogSec=): while the manager expects
// keep-alive pings, a task on the event loop sends WATCHDOG=1 at half the interval.
//
//     task_group.start_soon(anyio::run_watchdog);   // returns at once without a watchdog
//
// The pings come from a task on the loop, never from a timer thread: a loop that is stuck
// (a blocking call, an endless computation) stops them, and the manager restarts the
// service, which is the point of a watchdog.

#include <anyio/task.hpp>

#include <chrono>
#include <optional>

namespace anyio {

// The interval in $WATCHDOG_USEC when it is meant for this process: $WATCHDOG_PID unset
// or equal to getpid(). Empty when unset, meant for another process, or malformed (not a
// positive decimal number of microseconds; a malformed value is a documented no-op, as in
// sd_watchdog_enabled). Reads the environment at each call.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval();

// Sends WATCHDOG=1 at once and then every watchdog_interval() / 2 until cancelled.
// Returns at once when watchdog_interval() is empty or $NOTIFY_SOCKET is not set. Both
// are read once, when the task starts: a program may then unset them (as
// sd_notify(unset_environment) does, to keep them from its children) and the pings go on.
// A ping that fails (the manager's socket is gone) throws service_notify_error, except
// that a full queue (EAGAIN: a busy manager) only skips that ping, since the next one is
// half an interval away and ending the service for it would be worse. Loop thread.
[[nodiscard]] task<> run_watchdog();

}  // namespace anyio
