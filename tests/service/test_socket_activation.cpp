// Socket activation: real listening sockets placed at descriptors 3, 4, ... with the
// $LISTEN_* variables set, in a forked child (the environment and those descriptor
// numbers are process-wide); malformed variables and unusable descriptors; the fallback to
// binding; and a real program started by the real systemd-socket-activate.

#include <anyio/anyio.hpp>

#include "net/net_helpers.hpp"
#include "support/child_process.hpp"
#include "support/descriptors.hpp"
#include "support/run_helpers.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using anyio_test::run_guarded;
using anyio_test::run_in_child;

// A fresh directory for socket files.
class socket_dir : public anyio_test::temp_dir {
public:
    socket_dir() : temp_dir("anyio-activation") {}
};

int checked(int result, const char* what) {
    if (result < 0) throw std::runtime_error(std::string(what) + " failed");
    return result;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// A blocking socket bound to 127.0.0.1 on an ephemeral port, as a manager would make it.
int bound_inet_socket(int type) {
    const int fd = checked(::socket(AF_INET, type, 0), "socket");
    const sockaddr_in address = loopback(0);
    checked(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), "bind");
    return fd;
}

int tcp_listening_socket() {
    const int fd = bound_inet_socket(SOCK_STREAM);
    checked(::listen(fd, 16), "listen");
    return fd;
}

int unix_listening_socket(const std::string& path) {
    const int fd = checked(::socket(AF_UNIX, SOCK_STREAM, 0), "socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    checked(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), "bind");
    checked(::listen(fd, 16), "listen");
    return fd;
}

std::uint16_t port_of(int fd) {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    checked(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), "getsockname");
    return ntohs(address.sin_port);
}

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0;
}

bool is_close_on_exec(int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

// Puts `fds` at 3, 4, ... as a manager passes them (inheritable, like after an exec),
// closing the originals. They go above the target range first: a socket made in this
// process may itself be numbered 3 or 4, and a dup2 onto it would close it.
void pass_at_3(const std::vector<int>& fds) {
    std::vector<int> high;
    for (const int fd : fds) {
        high.push_back(checked(::fcntl(fd, F_DUPFD_CLOEXEC, 100), "F_DUPFD"));
        ::close(fd);
    }
    for (std::size_t i = 0; i < high.size(); ++i) {
        checked(::dup2(high[i], 3 + static_cast<int>(i)), "dup2");
        ::close(high[i]);
    }
}

// In the forked child: nothing at 3.. yet (a runner could have left something there), so
// open_fd_count() before the test's sockets is a baseline to come back to.
void vacate_passed_range(int count) {
    for (int fd = 3; fd < 3 + count; ++fd)
        ::close(fd);
}

void set_listen_variables(const std::string& pid, const std::string& fds,
                          const std::optional<std::string>& names) {
    ::setenv("LISTEN_PID", pid.c_str(), 1);
    ::setenv("LISTEN_FDS", fds.c_str(), 1);
    if (names) {
        ::setenv("LISTEN_FDNAMES", names->c_str(), 1);
    } else {
        ::unsetenv("LISTEN_FDNAMES");
    }
}

std::string this_pid() {
    return std::to_string(::getpid());
}

void expect_variables_removed() {
    EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
    EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
    EXPECT_EQ(std::getenv("LISTEN_FDNAMES"), nullptr);
}

// from_environment's socket_activation_error message, or "" when it did not throw.
std::string activation_error() {
    try {
        const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        ADD_FAILURE() << "no socket_activation_error; got " << activated.size() << " sockets";
    } catch (const anyio::socket_activation_error& e) {
        return e.what();
    }
    return "";
}

void expect_in_child(const std::function<void()>& body) {
    const anyio_test::exit_status status = run_in_child(body);
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(SocketActivation, PassedListenersAreNamedCheckedAndServe) {
    const socket_dir dir;
    const std::string path = dir.file("admin.sock");
    expect_in_child([&] {
        vacate_passed_range(2);
        const std::size_t baseline = anyio_test::open_fd_count();
        const int tcp = tcp_listening_socket();
        const std::uint16_t port = port_of(tcp);
        pass_at_3({tcp, unix_listening_socket(path)});
        ASSERT_FALSE(is_close_on_exec(3));
        set_listen_variables(this_pid(), "2", "web:admin");

        anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        expect_variables_removed();
        ASSERT_EQ(activated.size(), 2U);
        EXPECT_EQ(activated.name(0), "web");
        EXPECT_EQ(activated.name(1), "admin");
        EXPECT_EQ(activated.address(0).to_string(), "127.0.0.1:" + std::to_string(port));
        EXPECT_EQ(activated.address(1).to_string(), path);
        EXPECT_EQ(activated.address(1).family(), AF_UNIX);
        EXPECT_TRUE(is_close_on_exec(3)) << "a child must not inherit an untaken socket";
        EXPECT_TRUE(is_close_on_exec(4));
        EXPECT_THROW((void)activated.name(2), std::out_of_range);

        run_guarded([&]() -> anyio::task<> {
            std::optional<anyio::tcp_listener> web = activated.take_tcp("web");
            EXPECT_TRUE(web.has_value());
            if (!web) co_return;
            EXPECT_EQ(web->native_handle(), 3);
            EXPECT_EQ(web->port(), port);
            EXPECT_NE(::fcntl(3, F_GETFL) & O_NONBLOCK, 0) << "the loop needs EAGAIN";
            EXPECT_FALSE(activated.take_tcp("web").has_value()) << "taken already";
            EXPECT_FALSE(activated.take_tcp(0).has_value()) << "taken already";
            {
                auto client = co_await anyio::connect_tcp("127.0.0.1", port);
                auto server = co_await web->accept();
                co_await client.send("over tcp\n");
                const std::string got = co_await anyio_test::receive_line(server);
                EXPECT_EQ(got, "over tcp");
            }

            std::optional<anyio::unix_listener> admin = activated.take_unix(1);
            EXPECT_TRUE(admin.has_value());
            if (!admin) co_return;
            EXPECT_EQ(admin->path(), path);
            {
                auto client = co_await anyio::connect_unix(path);
                auto server = co_await admin->accept();
                co_await client.send("over unix\n");
                const std::string got = co_await anyio_test::receive_line(server);
                EXPECT_EQ(got, "over unix");
            }
            co_await admin->aclose();
            EXPECT_TRUE(fs::is_socket(path)) << "the manager's socket file must stay";
            co_await web->aclose();
        });
        EXPECT_FALSE(is_open(3));
        EXPECT_FALSE(is_open(4));
        EXPECT_EQ(anyio_test::open_fd_count(), baseline);
        EXPECT_TRUE(anyio::activated_sockets::from_environment().empty()) << "read once";
    });
}

TEST(SocketActivation, NotActivatedIsEmpty) {
    expect_in_child([] {
        ::unsetenv("LISTEN_PID");
        ::setenv("LISTEN_FDS", "1", 1);
        ::setenv("LISTEN_FDNAMES", "web", 1);
        const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        EXPECT_TRUE(activated.empty());
        EXPECT_EQ(activated.size(), 0U);
        expect_variables_removed();
    });
}

TEST(SocketActivation, VariablesForAnotherProcessAreRemovedAndTheirDescriptorsLeftAlone) {
    expect_in_child([] {
        vacate_passed_range(1);
        pass_at_3({tcp_listening_socket()});
        // The parent (the test runner): what a child of an activated service that did not
        // remove the variables inherits.
        set_listen_variables(std::to_string(::getppid()), "1", "web");
        {
            const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
            EXPECT_TRUE(activated.empty());
        }
        expect_variables_removed();
        EXPECT_TRUE(is_open(3));
        EXPECT_FALSE(is_close_on_exec(3)) << "not ours: untouched";
    });
}

TEST(SocketActivation, MalformedVariablesThrowAndCloseNothing) {
    struct malformed {
        const char* variable;
        std::string value;
    };
    const std::vector<malformed> cases = {
        {"LISTEN_FDS", "abc"},
        {"LISTEN_FDS", "-1"},
        {"LISTEN_FDS", ""},
        {"LISTEN_FDS", "3x"},
        {"LISTEN_FDS", " 1"},
        {"LISTEN_FDS", "+1"},
        {"LISTEN_FDS", "99999999999999999999999"},
        {"LISTEN_FDS", "18446744073709551617"},
        {"LISTEN_FDS", "1000000000"},  // more than the open-file limit allows
        {"LISTEN_PID", "abc"},
        {"LISTEN_PID", "-1"},
        {"LISTEN_PID", ""},
        {"LISTEN_PID", "0"},
        {"LISTEN_PID", "3x"},
        {"LISTEN_PID", "99999999999999999999999"},
    };
    for (const malformed& c : cases) {
        SCOPED_TRACE(std::string(c.variable) + "=\"" + c.value + "\"");
        expect_in_child([&] {
            vacate_passed_range(1);
            pass_at_3({tcp_listening_socket()});
            set_listen_variables(this_pid(), "1", "web");
            ::setenv(c.variable, c.value.c_str(), 1);
            const std::string message = activation_error();
            EXPECT_NE(message.find(c.variable), std::string::npos) << message;
            EXPECT_NE(message.find("\"" + c.value + "\""), std::string::npos) << message;
            expect_variables_removed();
            EXPECT_TRUE(is_open(3)) << "the count cannot be trusted: nothing is closed";
        });
    }
}

TEST(SocketActivation, ACountBeyondTheOpenFileLimitThrows) {
    expect_in_child([] {
        vacate_passed_range(1);
        pass_at_3({tcp_listening_socket()});
        rlimit limit{};
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
        limit.rlim_cur = 64;
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
        set_listen_variables(this_pid(), "62", std::nullopt);  // 3..64: past the limit
        const std::string message = activation_error();
        EXPECT_NE(message.find("LISTEN_FDS"), std::string::npos) << message;
        EXPECT_NE(message.find("\"62\""), std::string::npos) << message;
        EXPECT_TRUE(is_open(3));
    });
}

TEST(SocketActivation, NamesThatDoNotMatchTheCountThrow) {
    const std::vector<std::string> mismatches = {"web", "web:admin:extra", ""};
    for (const std::string& names : mismatches) {
        SCOPED_TRACE("LISTEN_FDNAMES=\"" + names + "\"");
        expect_in_child([&] {
            vacate_passed_range(2);
            pass_at_3({tcp_listening_socket(), tcp_listening_socket()});
            set_listen_variables(this_pid(), "2", names);
            const std::string message = activation_error();
            EXPECT_NE(message.find("LISTEN_FDNAMES"), std::string::npos) << message;
            EXPECT_NE(message.find("\"" + names + "\""), std::string::npos) << message;
            expect_variables_removed();
            EXPECT_TRUE(is_open(3));
            EXPECT_TRUE(is_open(4));
        });
    }
}

TEST(SocketActivation, MissingNamesAreUnknownAndEmptyNamesAreKept) {
    expect_in_child([] {
        vacate_passed_range(2);
        pass_at_3({tcp_listening_socket(), tcp_listening_socket()});
        set_listen_variables(this_pid(), "2", std::nullopt);
        anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        ASSERT_EQ(activated.size(), 2U);
        EXPECT_EQ(activated.name(0), "unknown");
        EXPECT_EQ(activated.name(1), "unknown");
        EXPECT_TRUE(activated.take_tcp("unknown").has_value());
        EXPECT_TRUE(activated.take_tcp("unknown").has_value()) << "the next one so named";
        EXPECT_FALSE(activated.take_tcp("unknown").has_value());
    });
    expect_in_child([] {
        vacate_passed_range(2);
        pass_at_3({tcp_listening_socket(), tcp_listening_socket()});
        set_listen_variables(this_pid(), "2", ":b");
        const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        ASSERT_EQ(activated.size(), 2U);
        EXPECT_EQ(activated.name(0), "");
        EXPECT_EQ(activated.name(1), "b");
    });
}

TEST(SocketActivation, ZeroDescriptorsIsAnEmptySet) {
    expect_in_child([] {
        set_listen_variables(this_pid(), "0", "");
        const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        EXPECT_TRUE(activated.empty());
        expect_variables_removed();
    });
}

// What sits at descriptor 3 (4 is a good listener, or 3 is good and 4 is this one).
enum class bad_kind { pipe, unlistening_tcp, udp, closed, regular_file, socket_pair };

int make_bad(bad_kind kind) {
    switch (kind) {
        case bad_kind::pipe: {
            int fds[2];
            checked(::pipe(fds), "pipe");
            ::close(fds[1]);
            return fds[0];
        }
        case bad_kind::unlistening_tcp:
            return bound_inet_socket(SOCK_STREAM);
        case bad_kind::udp:
            return bound_inet_socket(SOCK_DGRAM);
        case bad_kind::regular_file:
            return checked(::open("/proc/self/status", O_RDONLY), "open");
        case bad_kind::socket_pair: {
            int fds[2];
            checked(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), "socketpair");
            ::close(fds[1]);
            return fds[0];
        }
        case bad_kind::closed:
            break;
    }
    return -1;
}

void expect_bad_descriptor_rejected(bad_kind kind, bool bad_first, const std::string& reason) {
    expect_in_child([&] {
        vacate_passed_range(3);
        const std::size_t baseline = anyio_test::open_fd_count();
        const int bad = kind == bad_kind::closed ? tcp_listening_socket() : make_bad(kind);
        const int good = tcp_listening_socket();
        pass_at_3(bad_first ? std::vector<int>{bad, good} : std::vector<int>{good, bad});
        const int bad_fd = bad_first ? 3 : 4;
        if (kind == bad_kind::closed) ::close(bad_fd);
        set_listen_variables(this_pid(), "2", "first:second");
        const std::string message = activation_error();
        const std::string name = bad_first ? "first" : "second";
        EXPECT_NE(message.find("descriptor " + std::to_string(bad_fd) + " (\"" + name + "\")"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find(reason), std::string::npos) << message;
        expect_variables_removed();
        EXPECT_FALSE(is_open(3));
        EXPECT_FALSE(is_open(4));
        EXPECT_EQ(anyio_test::open_fd_count(), baseline) << "every passed descriptor closed";
    });
}

TEST(SocketActivation, APipeIsRejected) {
    expect_bad_descriptor_rejected(bad_kind::pipe, true, "not a socket");
    expect_bad_descriptor_rejected(bad_kind::pipe, false, "not a socket");
}

TEST(SocketActivation, ARegularFileIsRejected) {
    expect_bad_descriptor_rejected(bad_kind::regular_file, true, "not a socket");
}

TEST(SocketActivation, ANonListeningSocketIsRejected) {
    expect_bad_descriptor_rejected(bad_kind::unlistening_tcp, true, "not listening");
    expect_bad_descriptor_rejected(bad_kind::socket_pair, false, "not listening");
}

TEST(SocketActivation, AUdpSocketIsRejected) {
    expect_bad_descriptor_rejected(bad_kind::udp, true, "not a stream socket");
    expect_bad_descriptor_rejected(bad_kind::udp, false, "not a stream socket");
}

TEST(SocketActivation, AClosedDescriptorIsRejected) {
    expect_bad_descriptor_rejected(bad_kind::closed, true, "not open");
    expect_bad_descriptor_rejected(bad_kind::closed, false, "not open");
}

TEST(SocketActivation, TakingTheWrongFamilyThrowsAndLeavesItTakeable) {
    const socket_dir dir;
    const std::string path = dir.file("admin.sock");
    expect_in_child([&] {
        vacate_passed_range(2);
        pass_at_3({tcp_listening_socket(), unix_listening_socket(path)});
        set_listen_variables(this_pid(), "2", "web:admin");
        anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        try {
            (void)activated.take_unix(0);
            ADD_FAILURE() << "take_unix took a TCP socket";
        } catch (const anyio::socket_activation_error& e) {
            EXPECT_NE(std::string(e.what()).find("\"web\""), std::string::npos) << e.what();
        }
        EXPECT_THROW((void)activated.take_tcp("admin"), anyio::socket_activation_error);
        EXPECT_FALSE(activated.take_tcp(2).has_value()) << "out of range";
        EXPECT_FALSE(activated.take_unix("nobody").has_value());
        EXPECT_TRUE(activated.take_tcp(0).has_value());
        EXPECT_TRUE(activated.take_unix("admin").has_value());
    });
}

TEST(SocketActivation, UntakenDescriptorsAreClosedByTheDestructorAndMoveAssignment) {
    const socket_dir dir;
    const std::string path = dir.file("admin.sock");
    expect_in_child([&] {
        vacate_passed_range(2);
        const std::size_t baseline = anyio_test::open_fd_count();
        pass_at_3({tcp_listening_socket(), unix_listening_socket(path)});
        set_listen_variables(this_pid(), "2", "web:admin");
        {
            anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
            std::optional<anyio::tcp_listener> web = activated.take_tcp(0);
            ASSERT_TRUE(web.has_value());
            anyio::activated_sockets moved = std::move(activated);
            EXPECT_TRUE(activated.empty());  // NOLINT(bugprone-use-after-move)
            EXPECT_EQ(moved.size(), 2U);
            EXPECT_TRUE(is_open(4));
            moved = anyio::activated_sockets();
            EXPECT_FALSE(is_open(4)) << "move assignment closes the untaken one";
            EXPECT_TRUE(is_open(3)) << "the taken one belongs to its listener";
        }
        EXPECT_FALSE(is_open(3));
        EXPECT_TRUE(fs::is_socket(path));
        EXPECT_EQ(anyio_test::open_fd_count(), baseline);

        pass_at_3({tcp_listening_socket(), unix_listening_socket(dir.file("other.sock"))});
        set_listen_variables(this_pid(), "2", "web:admin");
        {
            const anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
            EXPECT_EQ(activated.size(), 2U);
        }
        EXPECT_EQ(anyio_test::open_fd_count(), baseline);
    });
}

TEST(SocketActivation, ActivatedOrTcpListenerBindsWhenNotActivated) {
    run_guarded([]() -> anyio::task<> {
        anyio::activated_sockets none;
        anyio::tcp_listener listener =
            co_await anyio::activated_or_tcp_listener(none, "web", "127.0.0.1", 0);
        EXPECT_TRUE(listener.is_open());
        EXPECT_EQ(listener.local_address().host(), "127.0.0.1");
        EXPECT_NE(listener.port(), 0);
        auto client = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        auto server = co_await listener.accept();
        co_await client.send("bound\n");
        const std::string got = co_await anyio_test::receive_line(server);
        EXPECT_EQ(got, "bound");
    });
}

TEST(SocketActivation, ActivatedOrTcpListenerPrefersTheActivatedOne) {
    const socket_dir dir;
    const std::string path = dir.file("admin.sock");
    expect_in_child([&] {
        vacate_passed_range(3);
        const int first = tcp_listening_socket();
        const int second = tcp_listening_socket();
        const std::uint16_t first_port = port_of(first);
        const std::uint16_t second_port = port_of(second);
        pass_at_3({unix_listening_socket(path), first, second});
        set_listen_variables(this_pid(), "3", "admin:web:api");
        anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
        run_guarded([&]() -> anyio::task<> {
            anyio::tcp_listener api =
                co_await anyio::activated_or_tcp_listener(activated, "api", "127.0.0.1", 0);
            EXPECT_EQ(api.port(), second_port);
            // No name: the first TCP one not taken, past the UNIX one.
            anyio::tcp_listener any =
                co_await anyio::activated_or_tcp_listener(activated, "", "127.0.0.1", 0);
            EXPECT_EQ(any.port(), first_port);
            anyio::tcp_listener bound =
                co_await anyio::activated_or_tcp_listener(activated, "", "127.0.0.1", 0);
            EXPECT_NE(bound.port(), first_port);
            EXPECT_NE(bound.port(), second_port);
            bool refused = false;
            try {
                (void)co_await anyio::activated_or_tcp_listener(activated, "admin", "", 0);
            } catch (const anyio::socket_activation_error&) {
                refused = true;
            }
            EXPECT_TRUE(refused) << "a UNIX socket named for a TCP listener is a wrong unit";
        });
    });
}

// --- the real thing: systemd-socket-activate starts tests/programs/activation_target ---

constexpr const char* socket_activate = "/usr/bin/systemd-socket-activate";

// A port nothing listens on right now. Another process may take it before
// systemd-socket-activate binds it: the caller retries with another.
std::uint16_t free_port() {
    const int fd = tcp_listening_socket();
    const std::uint16_t port = port_of(fd);
    ::close(fd);
    return port;
}

std::string line_starting(anyio_test::process& program, const std::string& prefix) {
    for (;;) {
        std::string line = program.read_line();
        if (line.rfind(prefix, 0) == 0) return line;
        if (line.find("Failed") != std::string::npos) return line;
    }
}

// One client's request and the service's reply.
std::string ask(const anyio::socket_address& where, const std::string& line) {
    std::string reply;
    run_guarded([&]() -> anyio::task<> {
        anyio::socket_stream stream;
        if (where.family() == AF_UNIX) {
            stream = co_await anyio::connect_unix(where.host());
        } else {
            stream = co_await anyio::connect_tcp(where.host(), where.port());
        }
        co_await stream.send(line + "\n");
        reply = co_await anyio_test::receive_line(stream);
    });
    return reply;
}

TEST(SocketActivation, ARealProgramUnderSystemdSocketActivate) {
    if (::access(socket_activate, X_OK) != 0) GTEST_SKIP() << socket_activate << " not installed";
    const socket_dir dir;
    const std::string admin = dir.file("admin.sock");
    const std::string metrics = dir.file("metrics.sock");
    for (int attempt = 0; attempt < 10; ++attempt) {
        const std::string tcp = "127.0.0.1:" + std::to_string(free_port());
        std::vector<std::string> argv = {
            socket_activate, "-l", tcp, "-l", admin, "-l", metrics, "--fdname=web:admin:metrics"};
        // It passes the program only PATH, HOME, TERM, USER and what -E names: keep the
        // sanitizers' settings.
        for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"})
            if (std::getenv(name) != nullptr) argv.insert(argv.end(), {"-E", name});
        argv.emplace_back(ACTIVATION_TARGET_EXE);
        anyio_test::process program(argv, {.pseudo_terminal = false, .capture_stderr = true});
        const std::string last = line_starting(program, "Listening on " + metrics);
        if (last.find("Failed") != std::string::npos) {
            // The port was taken in between: another try with another port.
            (void)program.wait();
            fs::remove(admin);
            fs::remove(metrics);
            continue;
        }
        EXPECT_EQ(last, "Listening on " + metrics + " as 5.");

        // A first connection makes systemd-socket-activate exec the program (in the same
        // process, which is what $LISTEN_PID names); it waits in the backlog meanwhile.
        const anyio::socket_address tcp_address = [&] {
            std::optional<anyio::socket_address> found;
            run_guarded([&]() -> anyio::task<> {
                anyio::socket_stream probe = co_await anyio::connect_tcp(
                    "127.0.0.1", std::stoi(tcp.substr(tcp.find(':') + 1)));
                found = probe.remote_address();
                co_await probe.send("hello\n");
                const std::string reply = co_await anyio_test::receive_line(probe);
                EXPECT_EQ(reply, "web:hello");
            });
            return found.value();
        }();
        EXPECT_EQ(line_starting(program, "listener 0"), "listener 0 web " + tcp);
        EXPECT_EQ(line_starting(program, "listener 1"), "listener 1 admin " + admin);
        EXPECT_EQ(line_starting(program, "listener 2"), "listener 2 metrics " + metrics);
        EXPECT_EQ(program.read_line(), "ready");

        EXPECT_EQ(ask(tcp_address, "again"), "web:again");
        auto unix_address = [](const std::string& path) {
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            path.copy(address.sun_path, sizeof address.sun_path - 1);
            return anyio::socket_address(reinterpret_cast<const sockaddr*>(&address),
                                         sizeof address);
        };
        EXPECT_EQ(ask(unix_address(admin), "status"), "admin:status");
        EXPECT_EQ(ask(unix_address(metrics), "count"), "metrics:count");
        EXPECT_EQ(ask(unix_address(metrics), "env"), "metrics:env:") << "LISTEN_* were removed";

        program.send(SIGTERM);
        EXPECT_EQ(line_starting(program, "stopped"), "stopped");
        const anyio_test::exit_status status = program.wait();
        EXPECT_EQ(status.signal, SIGTERM) << status.describe();
        EXPECT_TRUE(fs::is_socket(admin)) << "the manager's socket file stays";
        EXPECT_TRUE(fs::is_socket(metrics));
        return;
    }
    FAIL() << "systemd-socket-activate could not bind a free port in 10 attempts";
}

}  // namespace
