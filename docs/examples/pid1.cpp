// Orphan reaping outside PID 1: the program becomes a child subreaper and reaps what its
// children leave behind, while the status of its own children stays theirs.

#include <anyio/anyio.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

anyio::task<> main_task() {
    std::printf("PID 1: %s\n", anyio::is_pid1() ? "yes" : "no");

    // The shell leaves a background job behind: an orphan, re-parented to this process
    // (a child subreaper under orphan_reaping::always) and reaped when it ends.
    const std::vector<std::string> argv = {"sh", "-c", "(exit 3) & exit 0"};
    const anyio::completed_process shell = co_await anyio::run_process(argv);
    std::printf("the shell's status: %d\n", shell.returncode);

    // A child this program forks and waits for itself: marked, so the reaper leaves it.
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(5);
    const anyio::own_child mine(pid);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::printf("own child's status: %d\n", WEXITSTATUS(status));
}

int main() {
    anyio::run_options options;
    options.reap_orphans = anyio::orphan_reaping::always;
    return anyio::run_main(options, main_task);
}
