#pragma once
// What an anyio::process owns: the child's pid and pidfd, its exit status once reaped, the
// pipes, and the hand-over between tasks that wait for it at the same time.

#include <anyio/byte_stream.hpp>
#include <anyio/event.hpp>

#include "io/fd_watch.hpp"
#include "process/spawn.hpp"

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>

#include <sys/types.h>

namespace anyio::detail {

class process_state {
public:
    explicit process_state(spawned_child child);
    process_state(const process_state&) = delete;
    process_state& operator=(const process_state&) = delete;
    // Kills (SIGKILL) and reaps the child if it has not been reaped yet: never a zombie.
    ~process_state();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    // Reaps the child if it ended (waitid WNOHANG on the pidfd) and returns its status;
    // empty while it runs. Throws std::system_error (ECHILD) if someone else reaped it.
    std::optional<int> poll();
    // Sends a signal unless the child has been reaped already.
    void send_signal(int signo);
    // True until the child has been reaped (by us or, wrongly, by someone else).
    [[nodiscard]] bool unreaped() const noexcept { return !returncode_ && !lost_; }

    // The pidfd, readable once the child has ended (empty if the child was reaped by
    // someone else before we could open it). One task at a time waits on it (the leader);
    // the others wait for `leader_left`, which the leader sets when it stops waiting
    // (because the child ended or because it was cancelled) and replaces with a fresh one.
    std::optional<fd_watch> exit_watch;
    std::shared_ptr<event> leader_left = std::make_shared<event>();

    std::optional<byte_stream> stdin_pipe;
    std::optional<byte_stream> stdout_pipe;
    std::optional<byte_stream> stderr_pipe;

    // What process::stop() without arguments does (process_options::termination_*).
    std::chrono::milliseconds termination_grace{};
    int termination_signal = SIGTERM;

private:
    void kill_and_reap() noexcept;

    pid_t pid_;
    std::optional<int> returncode_;
    bool lost_ = false;  // reaped by someone else: the status is gone
};

}  // namespace anyio::detail
