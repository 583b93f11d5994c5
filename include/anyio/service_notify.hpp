#pragma once
// Telling a service manager (systemd, or anything that speaks its protocol) how the service
// is doing: the notification protocol of sd_notify(3), spoken directly (no libsystemd).
//
//     anyio::notify_ready("serving on :8000");      // after every listener is bound
//     anyio::notify_reloading();                    // SIGHUP: RELOADING=1 + MONOTONIC_USEC
//     anyio::notify_stopping("draining 12 connections");
//
// The manager passes the address of its datagram socket in $NOTIFY_SOCKET: a path, or a
// socket in Linux's abstract namespace when it starts with '@'. Each call sends one
// datagram from a new socket (a few microseconds; see bench/service_notify.cpp), reading
// $NOTIFY_SOCKET at that moment. The manager learns the sender's pid from the kernel
// (SO_PASSCRED), so with NotifyAccess=main only the main process may notify.
//
// Without $NOTIFY_SOCKET (not started by a manager, or a manager that does not listen)
// every function is a cheap no-op that returns false. With it, each returns true once
// the datagram is sent, and never blocks the calling thread: a socket that is gone,
// refuses, or whose queue is full (EAGAIN: a manager that does not keep up is reported,
// not waited for), a message the kernel cannot take in one datagram, or an address that
// is not a path or '@' name (systemd's "vsock:" form included) throws
// service_notify_error, naming the address and the cause.
//
// The text itself (a status with a newline, a line without '=', a non-positive errno or
// pid) is checked before $NOTIFY_SOCKET is even read, so such a bug throws the same
// service_notify_error (EINVAL) in development, without a manager, as under one.
//
// Why not libsystemd: the protocol is documented as stable (sd_notify(3), "the protocol
// is simple"), a minimal container image often has no libsystemd, and linking it would
// pull its dependencies into every user of this library. Any thread may call these; like
// getenv, they must not race with a setenv / unsetenv / putenv in another thread.

#include <chrono>
#include <cstddef>
#include <ratio>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/types.h>

namespace anyio {

// A notification that could not be sent. code() is the errno (EINVAL for bad text).
class service_notify_error : public std::system_error {
public:
    using std::system_error::system_error;
};

// Whether $NOTIFY_SOCKET is set and not empty: whether the notify_* calls send anything.
[[nodiscard]] bool service_notifications_enabled() noexcept;

// Sends `assignments` as they are: one or more "KEY=VALUE" lines separated by '\n'. Each
// line must have a non-empty key before its '=' and the text no NUL byte (so an empty
// line, a trailing '\n' included, is refused): service_notify_error with EINVAL.
// Returns false (and sends nothing) without $NOTIFY_SOCKET.
bool notify_service(std::string_view assignments);

// READY=1: startup (or a reload) is finished and the service serves. A status, if not
// empty, goes along as STATUS= in the same datagram. A status is one line: a '\n' or NUL
// in it is refused (EINVAL), here and in the functions below.
bool notify_ready(std::string_view status = {});
// RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC now), as Type=notify-reload requires;
// finish the reload with notify_ready().
bool notify_reloading(std::string_view status = {});
// STOPPING=1: the service is shutting down.
bool notify_stopping(std::string_view status = {});
// STATUS=: a one-line description of the state, shown by `systemctl status`.
bool notify_status(std::string_view status);
// ERRNO=: the errno the service fails with (> 0; else service_notify_error with EINVAL).
bool notify_errno(int error);
// EXTEND_TIMEOUT_USEC=: the current start, reload or stop step may take `extension` more
// from now (at least 1 microsecond: zero or less sends 1, since 0 would mean nothing).
bool notify_extend_timeout(std::chrono::microseconds extension);
// The same for any duration, rounded up to whole microseconds (saturating), so that a
// finer or floating-point duration never asks for less than meant.
template <class Rep, class Period>
bool notify_extend_timeout(std::chrono::duration<Rep, Period> extension) {
    using usec = std::chrono::microseconds;
    if (std::chrono::duration<double, std::micro>(extension) >=
        std::chrono::duration<double, std::micro>(usec::max())) {
        return notify_extend_timeout(usec::max());
    }
    return notify_extend_timeout(std::chrono::ceil<usec>(extension));
}
// MAINPID=: the service's main process is `pid` (> 0; else service_notify_error with
// EINVAL).
bool notify_main_pid(pid_t pid);
// WATCHDOG=1: the keep-alive ping (see watchdog.hpp for the task that sends it).
bool notify_watchdog();

namespace detail {
// Sends `parts`, concatenated, as one datagram to the manager at `address` (a
// $NOTIFY_SOCKET value), unchecked; `who` names the caller in errors. For run_watchdog,
// which keeps the address it found when it started.
void send_notification(const char* who, const char* address, const std::string_view* parts,
                       std::size_t count);
}  // namespace detail

}  // namespace anyio
