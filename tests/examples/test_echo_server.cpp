// examples/echo_server end to end: the real program as a child process, real TCP clients
// on loopback, real SIGHUP / SIGTERM / SIGINT.

#include <gtest/gtest.h>

#include "support/child_process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A temporary directory holding the server's config file.
class config_file {
public:
    explicit config_file(const std::string& prefix) {
        std::string pattern = (fs::temp_directory_path() / "anyio-echo-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        write(prefix);
    }
    config_file(const config_file&) = delete;
    config_file& operator=(const config_file&) = delete;
    ~config_file() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }
    void write(const std::string& prefix) const { std::ofstream(path()) << prefix << "\n"; }
    void remove() const { fs::remove(path()); }
    [[nodiscard]] std::string path() const { return (dir_ / "prefix.conf").string(); }

private:
    fs::path dir_;
};

// The server with its stderr merged into the stdout pipe the test reads.
class echo_server {
public:
    explicit echo_server(const std::vector<std::string>& args) : program_(command(args)) {}

    // Waits for "listening on PORT"; returns PORT.
    int wait_until_listening() {
        const std::string line = program_.read_line();
        const std::string expected = "listening on ";
        if (line.rfind(expected, 0) != 0)
            throw std::runtime_error("unexpected first line: " + line);
        return std::stoi(line.substr(expected.size()));
    }
    std::string read_line() { return program_.read_line(); }
    std::string read_rest() { return program_.read_rest(); }
    void send(int signo) const { program_.send(signo); }
    anyio_test::exit_status wait(std::chrono::seconds hang_guard = 30s) {
        return program_.wait(hang_guard);
    }

private:
    static std::vector<std::string> command(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
                                         ECHO_SERVER_EXE};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }
    anyio_test::process program_;
};

// A plain blocking TCP client (the server is what is under test), with a receive timeout
// as a hang guard.
class client {
public:
    explicit client(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const timeval guard{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
        if (connect_to(fd_, port) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
        }
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client() { close(); }

    // 0 if a connection to 127.0.0.1:port succeeds, else its errno.
    static int try_connect(int port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int error = connect_to(fd, port) == 0 ? 0 : errno;
        ::close(fd);
        return error;
    }

    void send(const std::string& bytes) const {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n < 0) throw std::runtime_error("send failed");
            sent += static_cast<std::size_t>(n);
        }
    }
    void send_eof() const { ::shutdown(fd_, SHUT_WR); }

    // The next line without its newline; throws at end of stream or on the hang guard.
    std::string read_line() {
        for (;;) {
            const auto newline = buffer_.find('\n');
            if (newline != std::string::npos) {
                std::string line = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                return line;
            }
            if (fill() == 0) throw std::runtime_error("end of stream before a line: " + buffer_);
        }
    }
    // True if the server ended the connection (after anything still buffered).
    bool at_end() { return buffer_.empty() && fill() == 0; }

    // Asks for `line` and returns the reply.
    std::string ask(const std::string& line) {
        send(line + "\n");
        return read_line();
    }

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    static int connect_to(int fd, int port) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    }
    std::size_t fill() {
        char chunk[4096];
        ssize_t n = -1;
        do {
            n = ::recv(fd_, chunk, sizeof chunk, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0) throw std::runtime_error("receive failed or timed out");
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return static_cast<std::size_t>(n);
    }

    int fd_ = -1;
    std::string buffer_;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(EchoServer, RepliesToEveryLineWithThePrefix) {
    const config_file config("hi> ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    EXPECT_GT(port, 0);
    client a(port);
    client b(port);
    EXPECT_EQ(a.ask("one"), "hi> one");
    EXPECT_EQ(b.ask("two"), "hi> two");
    a.send("three\nfour\nfi");  // several lines at once, and a line in two pieces
    EXPECT_EQ(a.read_line(), "hi> three");
    EXPECT_EQ(a.read_line(), "hi> four");
    a.send("ve\n");
    EXPECT_EQ(a.read_line(), "hi> five");
    b.send("no newline");
    b.send_eof();
    EXPECT_EQ(b.read_line(), "hi> no newline");
    EXPECT_TRUE(b.at_end());
    server.send(SIGTERM);
}

TEST(EchoServer, SighupRereadsTheConfigForLinesReceivedAfterwards) {
    const config_file config("old: ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client a(port);
    EXPECT_EQ(a.ask("before"), "old: before");
    config.write("new: ");
    server.send(SIGHUP);
    EXPECT_EQ(server.read_line(), "reloaded " + config.path());
    EXPECT_EQ(a.ask("after"), "new: after");
    client b(port);
    EXPECT_EQ(b.ask("fresh client"), "new: fresh client");
}

TEST(EchoServer, SighupWithTheConfigGoneKeepsTheOldPrefixAndSaysWhy) {
    const config_file config("kept: ");
    echo_server server({"--port", "0", "--config", config.path()});
    const int port = server.wait_until_listening();
    client a(port);
    config.remove();
    server.send(SIGHUP);
    const std::string complaint = server.read_line();
    EXPECT_TRUE(contains(complaint, "cannot reload " + config.path())) << complaint;
    EXPECT_TRUE(contains(complaint, "No such file or directory")) << complaint;
    EXPECT_TRUE(contains(complaint, "keeping the old prefix")) << complaint;
    EXPECT_EQ(a.ask("still"), "kept: still");
    // And a later good file is picked up again.
    config.write("back: ");
    server.send(SIGHUP);
    EXPECT_EQ(server.read_line(), "reloaded " + config.path());
    EXPECT_EQ(a.ask("again"), "back: again");
}

// A server with prefix "> " and the given grace period, and one client that got a reply
// and stays connected.
struct server_and_client {
    explicit server_and_client(const std::string& grace)
        : server({"--port", "0", "--config", config.path(), "--grace", grace}),
          port(server.wait_until_listening()),
          a(port) {
        EXPECT_EQ(a.ask("hello"), "> hello");
    }
    config_file config{"> "};
    echo_server server;
    int port;
    client a;
};

// SIGTERM / SIGINT with a client connected: the listener closes at once, the client still
// gets replies during the grace period, and the server exits 0 as soon as it leaves (the
// grace is 60 s, the hang guard 30 s: only the client's leaving can end it in time).
void check_graceful_stop(int signo, const std::string& announcement) {
    server_and_client s("60");
    echo_server& server = s.server;
    client& a = s.a;
    const int port = s.port;
    server.send(signo);
    const std::string line = server.read_line();
    EXPECT_TRUE(contains(line, announcement + ": not accepting; 1 open connection(s)")) << line;
    EXPECT_EQ(client::try_connect(port), ECONNREFUSED) << "new connections are refused";
    EXPECT_EQ(a.ask("during the grace"), "> during the grace");
    a.close();
    EXPECT_EQ(server.read_line(), "all connections finished");
    EXPECT_EQ(server.read_rest(), "");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, SigtermStopsAcceptingAndExitsZeroOnceOpenConnectionsFinish) {
    check_graceful_stop(SIGTERM, "terminated");
}

TEST(EchoServer, CtrlCStopsAcceptingAndExitsZeroOnceOpenConnectionsFinish) {
    check_graceful_stop(SIGINT, "interrupted");
}

TEST(EchoServer, AfterTheGracePeriodRemainingConnectionsAreCancelledAndItExitsZero) {
    server_and_client s("1");
    echo_server& server = s.server;
    client& idle = s.a;
    server.send(SIGTERM);
    EXPECT_TRUE(contains(server.read_line(), "have 1 s to finish"));
    EXPECT_EQ(server.read_line(), "grace period over: cancelled the remaining connection(s)");
    EXPECT_TRUE(idle.at_end()) << "the server closed the connection";
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, ASecondSignalEndsTheGracePeriodAtOnce) {
    server_and_client s("60");
    echo_server& server = s.server;
    server.send(SIGTERM);
    EXPECT_TRUE(contains(server.read_line(), "terminated: not accepting"));
    server.send(SIGINT);
    EXPECT_EQ(server.read_line(), "grace period over: cancelled the remaining connection(s)");
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.ok()) << status.describe();
}

TEST(EchoServer, BadArgumentsPrintTheUsageAndExitWith2) {
    const config_file config("> ");
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"--port", "0"},
        {"--config", config.path()},
        {"--port", "http", "--config", config.path()},
        {"--port", "65536", "--config", config.path()},
        {"--port", "0", "--config", config.path(), "--grace", "-1"},
        {"--port", "0", "--config", config.path(), "--grace"},
        {"--port", "0", "--config", config.path(), "--verbose", "1"},
    };
    for (const auto& args : bad) {
        echo_server server(args);
        const std::string output = server.read_rest();
        const anyio_test::exit_status status = server.wait();
        EXPECT_TRUE(status.exited && status.code == 2) << status.describe();
        EXPECT_TRUE(contains(output, "usage: echo_server --port PORT --config FILE")) << output;
    }
}

TEST(EchoServer, AMissingConfigAtStartIsAnErrorNamingIt) {
    const config_file config("> ");
    config.remove();
    echo_server server({"--port", "0", "--config", config.path()});
    const std::string output = server.read_rest();
    const anyio_test::exit_status status = server.wait();
    EXPECT_TRUE(status.exited && status.code == 1) << status.describe();
    EXPECT_TRUE(contains(output, "cannot read " + config.path())) << output;
}

}  // namespace
