#pragma once
// Test support: run a scenario in a forked child (so a test that raises SIGINT/SIGTERM or
// changes process-wide dispositions cannot disturb the runner), and drive a real program
// as a child process with real signals.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace anyio_test {

struct exit_status {
    bool exited = false;  // normal exit: see code
    int code = -1;
    int signal = 0;     // killed by this signal (0: not killed)
    bool hung = false;  // the hang guard killed it
    bool core_dumped = false;
    [[nodiscard]] std::string describe() const;
    [[nodiscard]] bool ok() const { return exited && code == 0; }
};

// Forks; the child runs `body` (GoogleTest assertions work inside it) and exits 0 if no
// assertion failed and nothing escaped, 1 otherwise. Waits for the child, killing it if
// it outlives `hang_guard` (a hang guard, not a speed assertion).
exit_status run_in_child(const std::function<void()>& body,
                         std::chrono::seconds hang_guard = std::chrono::seconds(60));

struct process_options {
    // stdin on a new pseudo-terminal whose controlling process (session leader, foreground
    // group) the program is: press_ctrl_c() is a real terminal's Ctrl+C. Output (stdout and
    // stderr) stays on the pipe, so none of it is lost when the terminal hangs up.
    bool pseudo_terminal = false;
    bool capture_stderr = false;  // with a pipe: stderr into the same pipe as stdout
};

// A program started with its stdout on a pipe (or a pseudo-terminal), with default signal
// dispositions and an empty signal mask.
class process {
public:
    explicit process(const std::vector<std::string>& argv, process_options options = {});
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process();

    [[nodiscard]] pid_t pid() const { return pid_; }
    // The next line of output without its newline; throws if none arrives in time.
    std::string read_line(std::chrono::seconds hang_guard = std::chrono::seconds(30));
    // Everything it printed until it closed stdout.
    std::string read_rest(std::chrono::seconds hang_guard = std::chrono::seconds(30));
    void send(int signo) const;
    // Types the terminal's interrupt character (^C): the line discipline sends SIGINT to the
    // foreground process group, as a person's Ctrl+C does. Pseudo-terminal only.
    void press_ctrl_c() const;
    exit_status wait(std::chrono::seconds hang_guard = std::chrono::seconds(30));

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string buffer_;
    bool reaped_ = false;
    int terminal_fd_ = -1;  // the pseudo-terminal's master, if any
};

// Waits until process `pid` is blocked in system call `number` (SYS_... from
// <sys/syscall.h>), read from /proc/PID/syscall. A way to know, without a sleep, that a
// program outside our control (coreutils timeout waiting in rt_sigsuspend) reached a
// state. False if the hang guard passed first.
bool wait_until_in_syscall(pid_t pid, long number,
                           std::chrono::seconds hang_guard = std::chrono::seconds(30));

// Nothing an abort or a crash prints is in a program's `output` ("terminate called",
// "Abort", "core dumped", "Segmentation").
void expect_no_crash_text(const std::string& output);

// Polls `condition` every millisecond until it is true or `hang_guard` passes.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::seconds hang_guard = std::chrono::seconds(30));

}  // namespace anyio_test
