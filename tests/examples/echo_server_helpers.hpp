#pragma once
// Test support for examples/echo_server: its config file, the program as a child process
// (ECHO_SERVER_EXE), and a plain blocking TCP client.

#include "process/process_helpers.hpp"
#include "support/child_process.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace echo_test {

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
    [[nodiscard]] pid_t pid() const { return program_.pid(); }
    // A "VmRSS"-style field of the server's /proc status, in KiB. (The shell that starts it
    // execs it, so the pid is the server's.)
    [[nodiscard]] long memory_kib(const std::string& field) const {
        std::ifstream in("/proc/" + std::to_string(program_.pid()) + "/status");
        std::ostringstream status;
        status << in.rdbuf();
        return std::stol(anyio_test::status_field(status.str(), field));
    }
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

// A plain blocking TCP client (the server is what is under test), with receive and send
// timeouts as hang guards.
class client {
public:
    explicit client(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const timeval guard{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof guard);
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

    // Sends as much of `bytes` as the server takes before it hangs up; returns how much.
    [[nodiscard]] std::size_t send_until_closed(std::string_view bytes) const {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::runtime_error("send failed or timed out");
            sent += static_cast<std::size_t>(n);
        }
        return sent;
    }
    // One line of `size` bytes with no newline, sent a MiB at a time, for as long as the
    // server takes it; returns the bytes sent.
    [[nodiscard]] std::size_t stream_endless_line(std::size_t size) const {
        const std::string chunk(1 << 20, 'x');
        std::size_t sent = 0;
        while (sent < size) {
            const std::size_t want = std::min(chunk.size(), size - sent);
            const std::size_t n = send_until_closed(std::string_view(chunk).substr(0, want));
            sent += n;
            if (n < want) break;
        }
        return sent;
    }

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

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace echo_test
