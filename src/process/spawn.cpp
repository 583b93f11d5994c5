#include "process/spawn.hpp"

#include "process/known_children.hpp"
#include "process/pidfd.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace anyio::detail {

namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), "anyio::open_process: " + what);
}

// posix_spawn_* report errors as return values, not in errno.
void check(int error, const char* what) {
    if (error != 0) throw_errno(error, what);
}

// glibc's sigfillset and sigaddset leave out the two signals it keeps for itself (32 and
// 33), and its posix_spawn sets those to SIG_IGN in the child unless they are in the
// "set to default" set, so without this every child would start with them ignored (and
// pass that on to programs with other C libraries, which use them). The set is glibc's
// plain bit array, so set the bits directly.
void add_libc_internal_signals(sigset_t& set) noexcept {
#ifdef __GLIBC__
    constexpr int bits = 8 * sizeof set.__val[0];
    for (int signo = 32; signo < SIGRTMIN; ++signo) {
        set.__val[(signo - 1) / bits] |= 1UL << ((signo - 1) % bits);
    }
#else
    (void)set;
#endif
}

class spawn_attributes {
public:
    explicit spawn_attributes(bool new_session) {
        check(::posix_spawnattr_init(&attr_), "posix_spawnattr_init");
        // Every signal back to SIG_DFL (also those this process ignores, which exec would
        // otherwise keep ignored), and nothing blocked. sigaction fails harmlessly for
        // SIGKILL and SIGSTOP in the child.
        sigset_t all;
        ::sigfillset(&all);
        add_libc_internal_signals(all);
        sigset_t none;
        ::sigemptyset(&none);
        short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
        if (new_session) flags |= POSIX_SPAWN_SETSID;
        try {
            check(::posix_spawnattr_setsigdefault(&attr_, &all), "posix_spawnattr_setsigdefault");
            check(::posix_spawnattr_setsigmask(&attr_, &none), "posix_spawnattr_setsigmask");
            check(::posix_spawnattr_setflags(&attr_, flags), "posix_spawnattr_setflags");
        } catch (...) {
            ::posix_spawnattr_destroy(&attr_);
            throw;
        }
    }
    spawn_attributes(const spawn_attributes&) = delete;
    spawn_attributes& operator=(const spawn_attributes&) = delete;
    ~spawn_attributes() { ::posix_spawnattr_destroy(&attr_); }
    [[nodiscard]] const posix_spawnattr_t* get() const noexcept { return &attr_; }

private:
    posix_spawnattr_t attr_{};
};

// What the child does between fork and exec, in order.
class file_actions {
public:
    file_actions() { check(::posix_spawn_file_actions_init(&actions_), "file actions"); }
    file_actions(const file_actions&) = delete;
    file_actions& operator=(const file_actions&) = delete;
    ~file_actions() { ::posix_spawn_file_actions_destroy(&actions_); }
    [[nodiscard]] const posix_spawn_file_actions_t* get() const noexcept { return &actions_; }

    // dup2(from, to); with from == to, glibc clears close-on-exec instead.
    void dup2(int from, int to) {
        check(::posix_spawn_file_actions_adddup2(&actions_, from, to), "file actions (dup2)");
    }
    void open(int fd, const char* path, int flags) {
        check(::posix_spawn_file_actions_addopen(&actions_, fd, path, flags, 0),
              "file actions (open)");
    }
    // Closing a descriptor that is not open is no error for glibc's posix_spawn.
    void close(int fd) {
        check(::posix_spawn_file_actions_addclose(&actions_, fd), "file actions (close)");
    }
    void close_from(int fd) {
        check(::posix_spawn_file_actions_addclosefrom_np(&actions_, fd),
              "file actions (closefrom)");
    }
    void chdir(const char* path) {
        check(::posix_spawn_file_actions_addchdir_np(&actions_, path), "file actions (chdir)");
    }

private:
    posix_spawn_file_actions_t actions_{};
};

void require_open(int fd, const char* what) {
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
        throw std::invalid_argument(std::string("anyio::open_process: ") + what + " " +
                                    std::to_string(fd) + " is not an open file descriptor");
    }
}

// A close-on-exec duplicate numbered 3 or above: a source descriptor below 3 could be
// overwritten by an earlier dup2 onto the child's 0, 1 or 2 (say stdout_to = from_fd(2)
// together with stderr_to = from_fd(1)).
unique_fd above_stdio(int fd) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) throw_errno(errno, "fcntl(F_DUPFD_CLOEXEC)");
    return unique_fd(copy);
}

// Arranges the child's descriptor `target` (0, 1 or 2) as `how` says. Returns this side's
// end for a pipe; descriptors the child takes from this process go into `keep` until the
// spawn is over.
unique_fd plan_stream(const stdio& how, int target, file_actions& actions,
                      std::vector<unique_fd>& keep) {
    const bool child_reads = target == STDIN_FILENO;
    switch (how.type()) {
        case stdio::kind::inherit:
            return {};
        case stdio::kind::devnull:
            actions.open(target, "/dev/null", child_reads ? O_RDONLY : O_WRONLY);
            return {};
        case stdio::kind::as_stdout:
            if (target != STDERR_FILENO) {
                throw std::invalid_argument(
                    "anyio::open_process: stdio::as_stdout() is only for stderr_to");
            }
            actions.dup2(STDOUT_FILENO, STDERR_FILENO);
            return {};
        case stdio::kind::fd: {
            require_open(how.fd(), "stdio::from_fd:");
            int source = how.fd();
            if (source < 3) {
                keep.push_back(above_stdio(source));
                source = keep.back().get();
            }
            actions.dup2(source, target);
            return {};
        }
        case stdio::kind::pipe:
            break;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    unique_fd read_end(fds[0]);
    unique_fd write_end(fds[1]);
    unique_fd child_end = child_reads ? std::move(read_end) : std::move(write_end);
    if (child_end.get() < 3) child_end = above_stdio(child_end.get());
    actions.dup2(child_end.get(), target);
    keep.push_back(std::move(child_end));
    return child_reads ? std::move(write_end) : std::move(read_end);
}

// Closes everything from 3 up in the child except `pass_fds`, which lose close-on-exec.
void plan_passed_descriptors(std::vector<int> pass_fds, file_actions& actions) {
    std::sort(pass_fds.begin(), pass_fds.end());
    pass_fds.erase(std::unique(pass_fds.begin(), pass_fds.end()), pass_fds.end());
    int next = 3;
    for (const int fd : pass_fds) {
        if (fd < 3) {
            throw std::invalid_argument("anyio::open_process: pass_fds entry " +
                                        std::to_string(fd) +
                                        " is below 3 (use stdin_from/stdout_to/stderr_to)");
        }
        require_open(fd, "pass_fds entry");
        actions.dup2(fd, fd);
        // glibc offers closefrom but no close_range: close the gap one by one.
        for (; next < fd; ++next)
            actions.close(next);
        next = fd + 1;
    }
    actions.close_from(next);
}

// exec takes C strings: an embedded NUL would silently cut the text short.
void require_no_nul(const std::string& text, const char* what) {
    if (text.find('\0') != std::string::npos) {
        throw std::invalid_argument(std::string("anyio::open_process: ") + what +
                                    " contains a NUL byte");
    }
}

std::vector<std::string> environment_strings(const process_options& options) {
    std::vector<std::string> strings;
    for (const auto& entry : *options.env) {
        require_no_nul(entry.first, "an environment variable name");
        require_no_nul(entry.second, "an environment variable value");
        if (entry.first.empty() || entry.first.find('=') != std::string::npos) {
            throw std::invalid_argument("anyio::open_process: bad environment variable name \"" +
                                        entry.first + "\"");
        }
        strings.push_back(entry.first + "=" + entry.second);
    }
    return strings;
}

// The service manager's variables: they speak for this process (its notify socket, its
// sockets, its watchdog), not for a child.
bool is_service_variable(const char* entry) noexcept {
    static constexpr std::string_view names[] = {"NOTIFY_SOCKET",  "LISTEN_PID",    "LISTEN_FDS",
                                                 "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"};
    const std::string_view text(entry);
    for (const std::string_view name : names) {
        if (text.size() > name.size() && text[name.size()] == '=' && text.starts_with(name))
            return true;
    }
    return false;
}

// This process's environment without the service variables (pointers into environ, which
// nothing changes while spawn_child runs), or environ itself when it has none of them: the
// common case copies nothing.
char** inherited_environment(const process_options& options, std::vector<char*>& filtered) {
    if (options.inherit_service_environment || environ == nullptr) return environ;
    char** entry = environ;
    while (*entry != nullptr && !is_service_variable(*entry))
        ++entry;
    if (*entry == nullptr) return environ;
    filtered.assign(environ, entry);
    for (; *entry != nullptr; ++entry) {
        if (!is_service_variable(*entry)) filtered.push_back(*entry);
    }
    filtered.push_back(nullptr);
    return filtered.data();
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> result;
    result.reserve(strings.size() + 1);
    for (auto& s : strings)
        result.push_back(s.data());
    result.push_back(nullptr);
    return result;
}

[[noreturn]] void throw_spawn_error(int error, const std::string& program,
                                    const process_options& options) {
    if (options.cwd) {
        struct stat info {};
        const std::string dir = options.cwd->string();
        if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
            ::access(dir.c_str(), X_OK) != 0) {
            throw_errno(error, "cannot run \"" + program + "\" in directory \"" + dir + "\"");
        }
    }
    throw_errno(error, "cannot execute \"" + program + "\"");
}

}  // namespace

spawned_child spawn_child(const std::vector<std::string>& argv, const process_options& options) {
    if (argv.empty()) throw std::invalid_argument("anyio::open_process: argv is empty");
    for (const std::string& arg : argv)
        require_no_nul(arg, "an argument");
    if (options.cwd) require_no_nul(options.cwd->string(), "cwd");
    spawned_child child;
    file_actions actions;
    std::vector<unique_fd> keep;
    child.stdin_end = plan_stream(options.stdin_from, STDIN_FILENO, actions, keep);
    child.stdout_end = plan_stream(options.stdout_to, STDOUT_FILENO, actions, keep);
    child.stderr_end = plan_stream(options.stderr_to, STDERR_FILENO, actions, keep);
    plan_passed_descriptors(options.pass_fds, actions);
    const std::string cwd = options.cwd ? options.cwd->string() : std::string();
    if (options.cwd) actions.chdir(cwd.c_str());
    const spawn_attributes attributes(options.start_new_session);

    std::vector<std::string> arg_strings = argv;
    std::vector<char*> args = pointers(arg_strings);
    std::vector<std::string> env_strings;
    std::vector<char*> env;
    char** child_environment = nullptr;
    if (options.env) {
        env_strings = environment_strings(options);
        env = pointers(env_strings);
        child_environment = env.data();
    } else {
        child_environment = inherited_environment(options, env);
    }
    const auto registering = known_children::lock();  // the orphan reaper must wait
    const int error = ::posix_spawnp(&child.pid, args[0], actions.get(), attributes.get(),
                                     args.data(), child_environment);
    if (error != 0) throw_spawn_error(error, argv[0], options);

    // Only we reap the child, so the pid still names it, unless SIGCHLD is ignored (the
    // kernel reaps at once) or other code calls waitpid(-1): then ESRCH says it is gone,
    // and nothing may be sent to a pid that could already be a stranger's.
    child.pidfd.reset(pidfd_open(child.pid));
    if (!child.pidfd.valid()) {
        const int open_error = errno;
        if (open_error == ESRCH) return child;
        ::kill(child.pid, SIGKILL);
        while (::waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        throw_errno(open_error, "pidfd_open");
    }
    known_children::add(child.pid);
    return child;
}

}  // namespace anyio::detail
