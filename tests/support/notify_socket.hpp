#pragma once
// Test support: the service manager's end of the notification protocol. A datagram socket
// the test binds (a fresh path, or an abstract name) with SO_PASSCRED, so each message
// comes with the pid the kernel vouches for, as systemd checks it.

#include <chrono>
#include <optional>
#include <string>

#include <sys/types.h>

namespace anyio_test {

struct notify_message {
    std::string text;  // the datagram as sent ("READY=1\nSTATUS=...")
    pid_t sender = 0;  // from SCM_CREDENTIALS
};

class notify_socket {
public:
    // A socket at a new path in a new temporary directory, or at an abstract address.
    explicit notify_socket(bool abstract = false);
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;
    ~notify_socket();  // closes, removes the path and its directory

    // The value for $NOTIFY_SOCKET ("@..." for an abstract socket).
    [[nodiscard]] const std::string& address() const { return address_; }
    [[nodiscard]] int fd() const { return fd_; }
    // The next message, or nothing when none arrives within `wait` (a hang guard).
    std::optional<notify_message> receive(
        std::chrono::milliseconds wait = std::chrono::seconds(30));
    // The next message whose text contains `needle`, skipping others (WATCHDOG=1 pings
    // among them); nothing when none arrives within `wait`.
    std::optional<notify_message> receive_containing(
        const std::string& needle, std::chrono::milliseconds wait = std::chrono::seconds(30));
    // Closes and removes the socket, as a manager that went away.
    void close();

private:
    int fd_ = -1;
    std::string address_;
    std::string directory_;
};

}  // namespace anyio_test
