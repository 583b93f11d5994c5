// create_udp_socket, create_connected_udp_socket, and udp_socket::send_to a host name.

#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>
#include <anyio/udp.hpp>

#include "net/resolve.hpp"
#include "net/socket_ops.hpp"

#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace anyio {

namespace {

void check_family(int family) {
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
        throw std::invalid_argument("anyio: invalid address family " + std::to_string(family) +
                                    " for UDP (expected AF_INET, AF_INET6 or AF_UNSPEC)");
    }
}

const char* family_name(int family) {
    return family == AF_INET ? "IPv4" : "IPv6";
}

// The first of `addresses` of `family` (any, for AF_UNSPEC); with `ipv4_fallback`, an IPv4
// one when there is no address of `family`.
std::optional<socket_address> first_of_family(const std::vector<socket_address>& addresses,
                                              int family, bool ipv4_fallback = false) {
    for (const socket_address& address : addresses) {
        if (family == AF_UNSPEC || address.family() == family) return address;
    }
    if (ipv4_fallback) return first_of_family(addresses, AF_INET);
    return std::nullopt;
}

[[noreturn]] void throw_no_address(const std::string& host, int family) {
    throw std::invalid_argument("anyio: \"" + host + "\" has no " + family_name(family) +
                                " address");
}

// A new UDP socket bound to `address`; closed if anything fails.
int bind_udp(const socket_address& address, bool reuse_port, bool dual_stack) {
    const int fd = detail::open_datagram_socket(address.family());
    const int on = 1;
    const int off = 0;
    int error = 0;
    if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) {
        error = errno;
    } else if (dual_stack && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) {
        error = errno;
    } else if (::bind(fd, address.native(), address.native_size()) < 0) {
        error = errno;
    }
    if (error != 0) {
        ::close(fd);
        detail::throw_address_error(error, "bind UDP socket to", address);
    }
    return fd;
}

}  // namespace

task<udp_socket> create_udp_socket(std::string local_host, int local_port, int family,
                                   bool reuse_port) {
    detail::check_port(local_port, 0);
    check_family(family);
    int fd = -1;
    if (local_host.empty()) {
        co_await checkpoint();
        if (family != AF_UNSPEC) {
            fd = bind_udp(detail::wildcard_address(family, local_port), reuse_port, false);
        } else {
            try {
                fd = bind_udp(detail::wildcard_address(AF_INET6, local_port), reuse_port, true);
            } catch (const std::system_error& e) {
                // No IPv6 on this machine: IPv4 only.
                if (e.code().value() != EAFNOSUPPORT && e.code().value() != EADDRNOTAVAIL) throw;
                fd = bind_udp(detail::wildcard_address(AF_INET, local_port), reuse_port, false);
            }
        }
    } else {
        const std::vector<socket_address> addresses =
            co_await detail::resolve(local_host, local_port, true);
        const std::optional<socket_address> local = first_of_family(addresses, family);
        if (!local) throw_no_address(local_host, family);
        fd = bind_udp(*local, reuse_port, false);
    }
    const socket_address local = detail::bound_address(fd);
    co_return detail::socket_access::make_datagram<udp_socket>(fd, local);
}

task<> udp_socket::send_to(std::string_view bytes, std::string host, int port) {
    detail::check_port(port, 1);
    // Before the lookup: a closed socket fails at once, not after a DNS round trip.
    if (!is_open()) throw closed_resource_error("anyio: send on a closed datagram socket");
    const int family = local_address().family();
    const std::vector<socket_address> addresses = co_await detail::resolve(host, port, false);
    const std::optional<socket_address> to = first_of_family(addresses, family, family == AF_INET6);
    if (!to) throw_no_address(host, family);
    co_await send_to(bytes, *to);
}

task<connected_udp_socket> create_connected_udp_socket(std::string remote_host, int remote_port,
                                                       std::string local_host, int local_port,
                                                       int family, bool reuse_port) {
    detail::check_port(remote_port, 1);
    detail::check_port(local_port, 0);
    check_family(family);
    if (remote_host.empty()) {
        throw std::invalid_argument("anyio: create_connected_udp_socket needs a remote host");
    }
    const std::vector<socket_address> remotes =
        co_await detail::resolve(remote_host, remote_port, false);
    std::vector<socket_address> locals;
    if (!local_host.empty()) locals = co_await detail::resolve(local_host, local_port, true);
    std::string failures;  // what() of the attempts that failed
    int last_error = 0;
    std::optional<socket_address> last;
    for (const socket_address& remote : remotes) {
        if (family != AF_UNSPEC && remote.family() != family) continue;
        std::optional<socket_address> local;
        if (!local_host.empty()) {
            local = first_of_family(locals, remote.family());
            if (!local) continue;
        } else if (local_port != 0 || reuse_port) {
            local = detail::wildcard_address(remote.family(), local_port);
        }
        int fd = -1;
        try {
            fd = local ? bind_udp(*local, reuse_port, false)
                       : detail::open_datagram_socket(remote.family());
        } catch (const std::system_error& e) {
            // A port in use is the caller's to fix, not a reason to try another address.
            if (e.code().value() == EADDRINUSE) throw;
            last_error = e.code().value();
            last = remote;
            failures += std::string(e.what()) + "; ";
            continue;
        }
        if (::connect(fd, remote.native(), remote.native_size()) == 0) {
            const socket_address bound = detail::bound_address(fd);
            co_return detail::socket_access::make_datagram<connected_udp_socket>(fd, bound, remote);
        }
        last_error = errno;
        ::close(fd);
        last = remote;
        failures += "anyio: connect UDP socket to " + remote.to_string() + ": " +
                    std::generic_category().message(last_error) + "; ";
    }
    if (!last) {
        throw std::invalid_argument(
            "anyio: \"" + remote_host + "\" has no address" +
            (family == AF_UNSPEC ? std::string()
                                 : std::string(" of family ") + family_name(family)) +
            (local_host.empty() ? std::string() : " of the family of \"" + local_host + "\""));
    }
    failures.resize(failures.size() - 2);
    throw connect_error(last_error, *last, failures);
}

}  // namespace anyio
