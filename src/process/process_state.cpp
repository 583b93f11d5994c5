#include "process/process_state.hpp"

#include "process/known_children.hpp"
#include "process/pidfd.hpp"

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>

namespace anyio::detail {

namespace {

[[noreturn]] void throw_lost() {
    throw std::system_error(ECHILD, std::generic_category(),
                            "anyio::process: the child was reaped by someone else (SIGCHLD "
                            "ignored, or a waitpid(-1) in this process); its status is lost");
}

std::optional<fd_watch> watch(unique_fd& pidfd) {
    if (!pidfd.valid()) return std::nullopt;
    return std::optional<fd_watch>(std::in_place, pidfd.release());
}

std::optional<byte_stream> adopt(unique_fd& end) {
    if (!end.valid()) return std::nullopt;
    return byte_stream::adopt(end.release());
}

}  // namespace

process_state::process_state(spawned_child child)
    : exit_watch(watch(child.pidfd)),
      stdin_pipe(adopt(child.stdin_end)),
      stdout_pipe(adopt(child.stdout_end)),
      stderr_pipe(adopt(child.stderr_end)),
      pid_(child.pid),
      lost_(!exit_watch) {}

process_state::~process_state() {
    kill_and_reap();
}

std::optional<int> process_state::poll() {
    if (returncode_) return returncode_;
    if (lost_) throw_lost();
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(exit_watch->fd()), &info, WEXITED | WNOHANG) != 0) {
        const int error = errno;
        if (error == EINTR) continue;
        if (error == EAGAIN) return std::nullopt;  // still running (non-blocking pidfd)
        if (error == ECHILD) {
            lost_ = true;
            throw_lost();
        }
        throw std::system_error(error, std::generic_category(), "anyio::process: waitid");
    }
    if (info.si_pid == 0) return std::nullopt;
    known_children::remove(pid_);
    // Python's convention: the exit code, or minus the signal that killed it.
    returncode_ = info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
    return returncode_;
}

void process_state::send_signal(int signo) {
    if (!unreaped()) return;
    if (pidfd_send_signal(exit_watch->fd(), signo) == 0) return;
    const int error = errno;
    if (error == ESRCH) return;  // gone already
    if (error == EINVAL) {
        throw std::invalid_argument("anyio::process::send_signal: " + std::to_string(signo) +
                                    " is not a signal number");
    }
    throw std::system_error(error, std::generic_category(), "anyio::process::send_signal");
}

void process_state::kill_and_reap() noexcept {
    if (!unreaped()) return;
    const int fd = exit_watch->fd();
    pidfd_send_signal(fd, SIGKILL);
    // fd_watch made the pidfd non-blocking, which would turn the blocking waitid into
    // EAGAIN.
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED) != 0 && errno == EINTR) {
    }
    known_children::remove(pid_);
}

}  // namespace anyio::detail
