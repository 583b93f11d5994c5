#pragma once
// Orphan reaping: what an init (PID 1) or a child subreaper owes the kernel. Orphaned
// descendants are re-parented to PID 1 (or to the nearest ancestor that made itself a
// child subreaper) and stay zombies until it waits for them.
//
// The rule the reaper follows: it reaps only the pids that nobody in this process waits
// for. It never touches
//  - a child started through the library (open_process, run_process): those are reaped
//    through their pidfd by their anyio::process, which gets the real status;
//  - a child the program marked with anyio::own_child (one it forked and waits for
//    itself).
// Every other child that has ended is reaped as SIGCHLD arrives. The reaper looks at the
// next zombie without reaping it (waitid WNOWAIT) and reaps it by its pid only if it is
// not one of those; when a known child is first in line it walks the other children
// (/proc/self/task/*/children) one by one.
//
// anyio::run reaps this way while it runs when run_options::reap_orphans says so: by
// default only when the process is PID 1 (the init of a container or of a PID
// namespace), where nobody else would.
//
//     int main() {
//         anyio::run_options options;
//         options.reap_orphans = anyio::orphan_reaping::always;  // also not as PID 1
//         return anyio::run_main(options, main_task);
//     }

#include <cstddef>

#include <sys/types.h>

namespace anyio {

// True when this process is the init of its PID namespace (getpid() == 1). The kernel
// then delivers it no signal whose disposition is the default (not even its own raise),
// and orphans are re-parented to it.
[[nodiscard]] bool is_pid1() noexcept;

// Makes the process a child subreaper (Linux's PR_SET_CHILD_SUBREAPER): descendants
// orphaned from now on are re-parented to it instead of to PID 1, so it can reap them.
// Throws std::system_error if the kernel refuses. Inherited by no child.
void become_child_subreaper();

// Reaps, without blocking, every ended child that nobody waits for (the rule above) and
// returns how many. Not a checkpoint, not an awaitable; thread-safe (serialised with
// the library's own spawns and reaps). anyio::run calls it on each SIGCHLD when reaping.
std::size_t reap_orphans_now() noexcept;

// Marks `pid`, a child the program started itself (fork, posix_spawn) and will wait for,
// as the program's: the reaper leaves it alone while this object lives. Create it in the
// same task step as the fork (no co_await in between): the reaper runs on the loop, so it
// cannot see the child before. Destroy it after the program's own waitpid. Move-only.
class own_child {
public:
    explicit own_child(pid_t pid);
    own_child(own_child&& other) noexcept;
    own_child& operator=(own_child&& other) noexcept;
    own_child(const own_child&) = delete;
    own_child& operator=(const own_child&) = delete;
    ~own_child();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = 0;
};

}  // namespace anyio
