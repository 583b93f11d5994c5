#include "support/child_process.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace anyio_test {

namespace {

void reset_signal_state() {
    for (int signo = 1; signo < NSIG; ++signo) {
        if (signo == SIGKILL || signo == SIGSTOP || (signo > 31 && signo < SIGRTMIN)) continue;
        std::signal(signo, SIG_DFL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    pthread_sigmask(SIG_SETMASK, &empty, nullptr);
}

exit_status wait_for(pid_t pid, std::chrono::seconds hang_guard) {
    exit_status result;
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            result.hung = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFEXITED(status)) {
        result.exited = true;
        result.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
        result.core_dumped = WCOREDUMP(status);
    }
    return result;
}

// The parent's end of a new pseudo-terminal, and the path of the program's end.
int open_pty_master(std::string& slave_path) {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
        throw std::runtime_error("posix_openpt failed");
    }
    char name[128];
    if (::ptsname_r(master, name, sizeof name) != 0) throw std::runtime_error("ptsname failed");
    slave_path = name;
    return master;
}

// In the child: a new session whose controlling terminal is the pseudo-terminal (on
// stdin), which makes this process group the terminal's foreground group. ISIG is on,
// so ^C is SIGINT. Output stays on the pipe: Linux discards what the master has not read
// yet when the session leader's exit hangs the terminal up, and the test reads it all.
void become_terminal_session(const std::string& slave_path) {
    ::setsid();
    const int slave = ::open(slave_path.c_str(), O_RDWR);
    if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) != 0) {
        std::perror("pseudo-terminal");
        ::_exit(126);
    }
    termios mode{};
    ::tcgetattr(slave, &mode);
    mode.c_lflag |= ISIG;
    ::tcsetattr(slave, TCSANOW, &mode);
    ::dup2(slave, STDIN_FILENO);
    if (slave > STDERR_FILENO) ::close(slave);
}

}  // namespace

std::string exit_status::describe() const {
    if (hung) return "hung (killed by the hang guard)";
    if (exited) return "exited with " + std::to_string(code);
    if (signal != 0)
        return std::string("killed by signal ") + std::to_string(signal) + " (" +
               strsignal(signal) + ")";
    return "unknown";
}

exit_status run_in_child(const std::function<void()>& body, std::chrono::seconds hang_guard) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int code = 0;
        try {
            body();
            code = ::testing::Test::HasFailure() ? 1 : 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child: uncaught exception: %s\n", e.what());
            code = 2;
        } catch (...) {
            std::fprintf(stderr, "child: uncaught non-std exception\n");
            code = 2;
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
    return wait_for(pid, hang_guard);
}

process::process(const std::vector<std::string>& argv, process_options options) {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::string slave_path;
    if (options.pseudo_terminal) terminal_fd_ = open_pty_master(slave_path);
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        if (options.pseudo_terminal) become_terminal_session(slave_path);
        ::dup2(fds[1], STDOUT_FILENO);
        if (options.capture_stderr || options.pseudo_terminal) ::dup2(fds[1], STDERR_FILENO);
        reset_signal_state();
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::perror("execv");
        ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
}

process::~process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (terminal_fd_ >= 0) ::close(terminal_fd_);
}

std::string process::read_line(std::chrono::seconds hang_guard) {
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    for (;;) {
        const auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw std::runtime_error("no line within the hang guard; got: " + buffer_);
        pollfd p{out_fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char chunk[512];
        const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
        if (n == 0) throw std::runtime_error("output closed before a full line; got: " + buffer_);
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::string process::read_rest(std::chrono::seconds hang_guard) {
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{out_fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r <= 0) continue;
        char chunk[512];
        const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    return std::exchange(buffer_, {});
}

void process::press_ctrl_c() const {
    if (terminal_fd_ < 0)
        throw std::logic_error("press_ctrl_c: the program has no pseudo-terminal");
    const char interrupt = '\x03';
    if (::write(terminal_fd_, &interrupt, 1) != 1) {
        throw std::runtime_error("write to the terminal failed");
    }
}

void process::send(int signo) const {
    if (::kill(pid_, signo) != 0) throw std::runtime_error("kill failed");
}

exit_status process::wait(std::chrono::seconds hang_guard) {
    reaped_ = true;
    return wait_for(pid_, hang_guard);
}

bool wait_until_in_syscall(pid_t pid, long number, std::chrono::seconds hang_guard) {
    const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
    return wait_until(
        [&] {
            std::ifstream in(path);
            long current = -1;
            return static_cast<bool>(in >> current) && current == number;
        },
        hang_guard);
}

void expect_no_crash_text(const std::string& output) {
    for (const char* crash : {"terminate called", "Abort", "core dumped", "Segmentation"})
        EXPECT_EQ(output.find(crash), std::string::npos) << output;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::seconds hang_guard) {
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace anyio_test
