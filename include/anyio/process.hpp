#pragma once
// Subprocesses (AnyIO's open_process and Process): start a program with its standard
// streams on pipes, talk to it through byte_streams, and wait for it without blocking
// the loop.
//
//     const std::vector<std::string> argv = {"cat"};
//     anyio::process cat = co_await anyio::open_process(argv);
//     co_await cat.stdin_stream().send("hello");
//     co_await cat.stdin_stream().send_eof();
//     std::string echoed = co_await cat.stdout_stream().receive();
//     int code = co_await cat.wait();
//
// Or from a shell command line (/bin/sh -c; see open_process(command) for the quoting
// danger), and stopped gracefully (SIGTERM, a grace period, then SIGKILL):
//
//     anyio::process server = co_await anyio::open_process("exec my-server --port 8080");
//     int code = co_await server.stop(std::chrono::seconds(5));
//
// How a child starts (posix_spawn, so this thread is suspended only until the child has
// called exec, never for a copy of this process's memory):
//  - every signal at its default disposition and an empty signal mask, whatever this
//    process ignores, blocks or handles (signal receivers included);
//  - no file descriptors but 0, 1, 2 and options.pass_fds, even ones this process opened
//    without close-on-exec;
//  - argv[0] without a slash is searched in this process's PATH;
//  - a program that cannot be executed (missing, not executable, bad cwd) makes
//    open_process throw std::system_error naming it, with no child left behind.
//
// How its exit is observed: a pidfd in the loop's epoll, then waitid(P_PIDFD), so no
// SIGCHLD handler is needed and the application's own SIGCHLD receivers keep working. (As
// PID 1, or with run_options::reap_orphans, run() also receives SIGCHLD to reap orphans;
// it never reaps a child started here: see reap.hpp.) What takes a child's exit status
// away: SIGCHLD set to SIG_IGN, or code that reaps every child (waitpid(-1)); wait() and
// returncode() then throw std::system_error (ECHILD).
//
// Never a zombie: destroying (or assigning over) a process that is still running kills it
// with SIGKILL and reaps it, blocking the thread until the kernel has ended it (a few
// microseconds; a child stuck in uninterruptible I/O takes as long as that I/O). Call
// wait() or aclose() first to let it finish on its own.
//
// Loop thread only: a process and its streams belong to the loop of the task that first
// waits on them, and must be destroyed on that thread, never while one of its operations
// is running.
//
// g++ 12 pitfall: it cannot compile a braced list inside a co_await expression
// (`co_await anyio::open_process({"cat"})` fails with "array used as initializer"; clang
// is fine). Build the argv vector in a statement of its own, as above.

#include <anyio/byte_stream.hpp>
#include <anyio/task.hpp>

#include <chrono>
#include <concepts>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace anyio {

// How one of the child's standard streams is connected (Python's PIPE, DEVNULL, STDOUT,
// None or a file descriptor).
class stdio {
public:
    enum class kind : unsigned char { pipe, inherit, devnull, fd, as_stdout };

    // A new pipe; this side gets its other end as a byte_stream. The default.
    [[nodiscard]] static constexpr stdio pipe() noexcept { return stdio(kind::pipe, -1); }
    // The same stream as this process's own descriptor 0, 1 or 2.
    [[nodiscard]] static constexpr stdio inherit() noexcept { return stdio(kind::inherit, -1); }
    // /dev/null: reads see end of file, writes vanish.
    [[nodiscard]] static constexpr stdio devnull() noexcept { return stdio(kind::devnull, -1); }
    // A descriptor of this process (file, socket, pipe end): the child gets a duplicate,
    // the caller keeps its own and closes it when it likes (after open_process returned).
    [[nodiscard]] static constexpr stdio from_fd(int descriptor) noexcept {
        return stdio(kind::fd, descriptor);
    }
    // For stderr only: the same stream as the child's stdout (2>&1).
    [[nodiscard]] static constexpr stdio as_stdout() noexcept { return stdio(kind::as_stdout, -1); }

    [[nodiscard]] constexpr kind type() const noexcept { return kind_; }
    [[nodiscard]] constexpr int fd() const noexcept { return fd_; }  // kind::fd only

private:
    constexpr stdio(kind k, int descriptor) noexcept : kind_(k), fd_(descriptor) {}
    kind kind_;
    int fd_;
};

struct process_options {
    stdio stdin_from = stdio::pipe();
    stdio stdout_to = stdio::pipe();
    stdio stderr_to = stdio::pipe();
    // The child's working directory (default: this process's). A relative program path
    // (one with a slash) is then relative to it.
    std::optional<std::filesystem::path> cwd;
    // The child's whole environment, name -> value (default: a copy of this process's).
    // The PATH search for argv[0] still uses this process's PATH.
    std::optional<std::map<std::string, std::string>> env;
    // Descriptors of this process the child keeps under the same numbers (each >= 3), for
    // instance a listening socket. Close-on-exec is cleared in the child only.
    std::vector<int> pass_fds;
    // Run the child in a new session (setsid): its own process group, so a Ctrl+C at the
    // terminal reaches this process but not the child.
    bool start_new_session = false;
    // The service manager's variables (NOTIFY_SOCKET, LISTEN_PID, LISTEN_FDS,
    // LISTEN_FDNAMES, WATCHDOG_USEC, WATCHDOG_PID) are left out of the child's inherited
    // environment, so a child cannot notify, claim sockets or feed the watchdog in this
    // service's name. true passes them on. An explicit `env` is passed as given.
    bool inherit_service_environment = false;
    // How process::stop() (without arguments) and a cancelled run_process end the child:
    // termination_signal first, then SIGKILL if it is still running termination_grace
    // later. A program that shuts down cleanly on another signal (SIGINT, SIGQUIT, SIGHUP)
    // is given that one here. A zero grace means SIGKILL at once. open_process refuses a
    // negative grace or a signal number that is not one (std::invalid_argument).
    std::chrono::milliseconds termination_grace = std::chrono::seconds(2);
    int termination_signal = SIGTERM;
};

namespace detail {
class process_state;
}

class process;

// Starts argv[0] with arguments argv (non-empty) as described in the header comment.
// A checkpoint before the child is started (a cancelled caller starts nothing); once the
// child exists, it is returned. Throws std::invalid_argument for an empty argv, bad
// options (as_stdout for stdin or stdout, a negative descriptor, a pass_fds entry below
// 3), std::system_error when the program cannot be executed or a pipe cannot be made.
[[nodiscard]] task<process> open_process(std::vector<std::string> argv,
                                         process_options options = {});

namespace detail {
task<process> open_shell_process(std::string command, process_options options);
}

// Runs a shell command line (AnyIO's open_process with a string, Python's shell=True):
// the child is `/bin/sh -c command`, so pipelines, redirections, variables and globs work:
//
//     anyio::process p = co_await anyio::open_process("sort names.txt | uniq -c");
//
// The quoting danger: the shell parses the whole string, so never paste outside input
// (a file name, a user's text) into it. A name like `x; rm -rf ~` or `$(reboot)` runs as
// commands. Pass such values as argv elements instead (open_process(argv) runs no shell), or
// hand them to the shell as positional parameters it never parses:
// {"/bin/sh", "-c", "grep -- \"$1\" log.txt", "sh", untrusted}.
//
// The child is the shell (pid() is the shell's; signals reach the shell, not the commands
// it started, unless the command ends with `exec program`). Otherwise as open_process(argv):
// a checkpoint, the same options and errors (std::invalid_argument for an empty command).
//
// Any string type (const char*, std::string, std::string_view) picks this overload, and a
// braced list still picks argv: `open_process({"ls", "-l"})` runs ls without a shell (a
// template, so that a braced list, which deduces nothing, is never ambiguous here). The
// command is copied into the returned task.
template <class Command>
requires std::convertible_to<const Command&, std::string_view>
[[nodiscard]] task<process> open_process(const Command& command, process_options options = {}) {
    return detail::open_shell_process(std::string(std::string_view(command)), std::move(options));
}

// A running (or finished, not yet destroyed) child process. Move-only; see the header
// comment for what destroying it does.
class process {
public:
    process(process&&) noexcept;
    // Kills and reaps the process this one held if it still runs (like the destructor).
    process& operator=(process&&) noexcept;
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process();

    // The child's process id (-1 for a moved-from process). Once wait() or returncode()
    // has reaped the child the number is free for the system to reuse; send_signal() goes
    // through the pidfd and never reaches such a stranger.
    [[nodiscard]] pid_t pid() const noexcept;

    // The exit status if the child has ended: its exit code, or minus the signal number
    // when a signal killed it (like Python). Empty while it runs. Not a checkpoint; asks
    // the kernel (waitid, WNOHANG) and reaps the child if it ended. Throws std::system_error
    // (ECHILD) if something else reaped it (see the header comment).
    [[nodiscard]] std::optional<int> returncode() const;

    // The pipes to the child's standard streams. Throw std::logic_error if that stream was
    // not opened with stdio::pipe().
    [[nodiscard]] byte_stream& stdin_stream();
    [[nodiscard]] byte_stream& stdout_stream();
    [[nodiscard]] byte_stream& stderr_stream();

    // Waits until the child ends and returns returncode(). A checkpoint (also when it has
    // already ended). Cancellation stops the waiting only: the child runs on. Several tasks
    // may wait at once. Throws std::system_error (ECHILD) if something else reaped it.
    [[nodiscard]] task<int> wait();

    // Sends `signo` to the child (through its pidfd: never to a stranger that reused the
    // pid). Does nothing once the child has been reaped. std::invalid_argument for a bad
    // signal number. Not a checkpoint.
    void send_signal(int signo);
    void terminate();  // SIGTERM
    void kill();       // SIGKILL

    // Stops the child gracefully and returns its returncode() (Trio's deliver_cancel, done
    // by hand on any process): sends `signo` (SIGTERM by default), waits up to `grace` for
    // the child to exit, then sends SIGKILL and waits for that. Once it returns the child
    // has ended and been reaped, whatever happened. Without arguments, the grace and the
    // signal are process_options::termination_grace (2 s) and termination_signal
    // (SIGTERM) of open_process; with a grace only, the signal is SIGTERM. A zero grace
    // sends SIGKILL at once (no `signo`). A child that has already ended gets no signal:
    // its return code is returned.
    //
    // A checkpoint (also when the child has already ended). Cancellation, before the
    // signal or during the grace, cuts the grace short: the child gets SIGKILL and is
    // reaped, shielded, before `cancelled` propagates, so a cancelled stop leaves nothing
    // running (and waits only the microseconds the kernel takes to end it). The pipes stay
    // open, so what the child printed while it shut down can still be read; aclose() or
    // the destructor closes them. Other tasks may wait() meanwhile; they get the same code.
    //
    // Throws std::invalid_argument for a negative grace or a signal number that is not
    // one (before any signal is sent), std::system_error (ECHILD) if something else reaped
    // the child (see the header comment).
    [[nodiscard]] task<int> stop();
    [[nodiscard]] task<int> stop(std::chrono::milliseconds grace, int signo = SIGTERM);

    // Closes the pipes, then waits for the child to end (AnyIO's Process.aclose). If that
    // wait is cancelled, kills the child and reaps it (shielded) before `cancelled`
    // propagates. A checkpoint.
    [[nodiscard]] task<> aclose();

private:
    friend task<process> open_process(std::vector<std::string> argv, process_options options);
    explicit process(std::unique_ptr<detail::process_state> state) noexcept;
    detail::process_state& state(const char* what) const;
    std::unique_ptr<detail::process_state> state_;
};

}  // namespace anyio
