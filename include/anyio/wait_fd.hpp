#pragma once
// Waiting for a file descriptor the caller owns to become readable or writable (AnyIO's
// wait_readable / wait_writable / notify_closing, Trio's wait_readable and friends).
//
//     co_await anyio::wait_readable(fd);  // then read(fd, ...) will not block (one reader)
//
// The descriptor stays the caller's: anyio neither closes it nor changes its flags. The
// wait registers a private duplicate of it (dup) with the loop's epoll for this wait only,
// level-triggered: data already waiting ends the wait at the next poll, and a descriptor
// registered elsewhere (another loop, another anyio stream) is not disturbed. A descriptor
// epoll cannot watch (a regular file, /dev/null) is always ready, as poll(2) reports it: the
// wait is then only a checkpoint.
//
// Each is a checkpoint; cancellation withdraws the wait (nothing was read or written).
// At most one task waits per descriptor and direction: a second concurrent waiter gets
// busy_resource_error, as in AnyIO (a reader and a writer may wait on one descriptor).
// Hang-ups and errors end a wait too (the next read or write reports them). Loop thread
// only. Throws std::invalid_argument for a negative descriptor, std::system_error (EBADF)
// for one that is not open.

#include <anyio/task.hpp>

namespace anyio {

// Returns once `fd` is readable (or at end of file, hung up or in error).
[[nodiscard]] task<void> wait_readable(int fd);

// Returns once `fd` is writable (or hung up or in error).
[[nodiscard]] task<void> wait_writable(int fd);

// Call before closing `fd` while tasks of this loop may be waiting on it: they resume with
// closed_resource_error (a descriptor closed under a wait would otherwise leave it waiting
// forever, and its number may be reused). Not a checkpoint; never throws.
void notify_closing(int fd) noexcept;

}  // namespace anyio
