#pragma once
// Socket activation (sd_listen_fds(3)): the service manager binds the listening sockets
// and passes them to the service as descriptors 3, 4, ... with $LISTEN_FDS (how many),
// $LISTEN_PID (for which process) and $LISTEN_FDNAMES (their names, ':'-separated,
// FileDescriptorName= in the .socket unit). They become the library's listeners.
//
//     anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
//     anyio::tcp_listener listener =
//         co_await anyio::activated_or_tcp_listener(activated, "http", "", 8000);
//
// A program that was not activated (or whose variables name another process) gets an
// empty set and binds its own address: the same binary runs with and without a manager.

#include <anyio/socket_listener.hpp>
#include <anyio/task.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace anyio {

// Malformed activation variables, or a passed descriptor that is not a listening stream
// socket of a kind the library serves (TCP over IPv4/IPv6, UNIX stream).
class socket_activation_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The listening sockets passed to this process. Move-only; the descriptors not taken
// are closed when it is destroyed.
class activated_sockets {
public:
    // Reads $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES and removes them from the
    // environment (always: children and a second call see nothing). Empty when they are
    // unset or $LISTEN_PID is not this process. Otherwise every passed descriptor is made
    // close-on-exec and checked. Throws socket_activation_error for a malformed value
    // ("abc", "-1", a count beyond the open-file limit, names that do not match the
    // count) or a descriptor that is closed, not a socket, not a stream socket, not
    // listening or of another family; the passed descriptors that are open are then
    // closed (they were this process's), so nothing leaks. $LISTEN_FDS unset (with
    // $LISTEN_PID ours) or 0 is an empty set, as sd_listen_fds(3) has it. Changes the
    // environment: call it early in main, before threads that read the environment start.
    [[nodiscard]] static activated_sockets from_environment();

    activated_sockets() noexcept = default;
    activated_sockets(activated_sockets&&) noexcept;
    activated_sockets& operator=(activated_sockets&&) noexcept;
    activated_sockets(const activated_sockets&) = delete;
    activated_sockets& operator=(const activated_sockets&) = delete;
    ~activated_sockets();

    // How many were passed (taken ones included); 0 when not activated.
    [[nodiscard]] std::size_t size() const noexcept { return sockets_.size(); }
    [[nodiscard]] bool empty() const noexcept { return sockets_.empty(); }
    // The name of the one at `index` ("unknown" when the manager gave none, as systemd).
    // Throws std::out_of_range for an index from size() on.
    [[nodiscard]] const std::string& name(std::size_t index) const;
    // Where the one at `index` listens (also once taken). Throws std::out_of_range.
    [[nodiscard]] const socket_address& address(std::size_t index) const;

    // Takes the listener at `index`, or the first not yet taken whose name is `name`, as
    // a TCP (AF_INET/AF_INET6) or UNIX listener. Empty when there is none (or it was
    // taken already). Throws socket_activation_error when it is of the other family.
    // A taken UNIX listener does not remove its socket file on close (the manager owns it).
    [[nodiscard]] std::optional<tcp_listener> take_tcp(std::size_t index);
    [[nodiscard]] std::optional<tcp_listener> take_tcp(std::string_view name);
    [[nodiscard]] std::optional<unix_listener> take_unix(std::size_t index);
    [[nodiscard]] std::optional<unix_listener> take_unix(std::string_view name);

private:
    friend task<tcp_listener> activated_or_tcp_listener(activated_sockets&, std::string,
                                                        std::string, int);
    struct passed_socket {
        int fd = -1;  // -1 once taken
        std::string name;
        socket_address address;
    };
    explicit activated_sockets(std::vector<passed_socket> sockets) noexcept;
    template <class Listener>
    std::optional<Listener> take(std::size_t index, bool tcp);
    // The first one not taken named `name`.
    [[nodiscard]] std::optional<std::size_t> find(std::string_view name) const noexcept;
    std::optional<tcp_listener> take_first_tcp();
    void close_all() noexcept;
    std::vector<passed_socket> sockets_;
};

// The activated TCP listener named `name` (the first TCP one not taken, when `name` is
// empty) or, when there is none, create_tcp_listener(host, port). Throws
// socket_activation_error when the one named `name` is a UNIX socket (a unit that does not
// match the program), else as create_tcp_listener. Loop thread.
[[nodiscard]] task<tcp_listener> activated_or_tcp_listener(activated_sockets& activated,
                                                           std::string name, std::string host,
                                                           int port);

}  // namespace anyio
