// create_unix_datagram_socket, create_connected_unix_datagram_socket, and
// unix_datagram_socket::send_to a path. Nothing here removes a socket file (see
// unix_datagram.hpp).

#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>
#include <anyio/unix_datagram.hpp>

#include "net/socket_ops.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include <sys/socket.h>
#include <unistd.h>

namespace anyio {

namespace {

// A new UNIX datagram socket, bound to `local_path` unless it is empty; closed if the bind
// fails.
int open_unix_datagram(const std::string& local_path) {
    // Checked before a socket exists: nothing to close on a bad path.
    const socket_address local =
        local_path.empty() ? socket_address() : detail::unix_address(local_path);
    const int fd = detail::open_datagram_socket(AF_UNIX);
    if (!local_path.empty() && ::bind(fd, local.native(), local.native_size()) < 0) {
        const int error = errno;
        ::close(fd);
        detail::throw_address_error(error, "bind UNIX datagram socket to", local);
    }
    return fd;
}

}  // namespace

task<unix_datagram_socket> create_unix_datagram_socket(std::string local_path) {
    co_await checkpoint();
    const int fd = open_unix_datagram(local_path);
    const socket_address local = detail::bound_address(fd);
    co_return detail::socket_access::make_datagram<unix_datagram_socket>(fd, local);
}

task<> unix_datagram_socket::send_to(std::string_view bytes, std::string path) {
    co_await send_to(bytes, detail::unix_address(path));
}

task<connected_unix_datagram_socket> create_connected_unix_datagram_socket(std::string remote_path,
                                                                           std::string local_path) {
    const socket_address remote = detail::unix_address(remote_path);
    co_await checkpoint();
    const int fd = open_unix_datagram(local_path);
    // A datagram connect completes at once: it only records the peer.
    if (::connect(fd, remote.native(), remote.native_size()) < 0) {
        const int error = errno;
        ::close(fd);
        // The file the bind just made belongs to this failed call, not to the caller.
        if (!local_path.empty() && local_path[0] != '@') ::unlink(local_path.c_str());
        throw connect_error(error, remote, "anyio: connect to " + remote.to_string());
    }
    const socket_address local = detail::bound_address(fd);
    co_return detail::socket_access::make_datagram<connected_unix_datagram_socket>(fd, local,
                                                                                   remote);
}

}  // namespace anyio
