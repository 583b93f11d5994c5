#pragma once
// pidfd system calls. glibc 2.36's <sys/pidfd.h> declares them without extern "C" (fixed
// in 2.37), so a C++ program cannot link against them: call the kernel directly.

#include <csignal>

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace anyio::detail {

// A close-on-exec descriptor that refers to process `pid`, or -1 with errno set.
inline int pidfd_open(pid_t pid) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U));
}

// Sends `signo` to the process `pidfd` refers to; -1 with errno set on failure.
inline int pidfd_send_signal(int pidfd, int signo) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0U));
}

}  // namespace anyio::detail
