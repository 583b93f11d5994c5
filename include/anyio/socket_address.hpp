#pragma once
// anyio::socket_address: where a socket is bound or connected, as a small value type that
// prints the way people write addresses: "127.0.0.1:80", "[::1]:80", "/run/app.sock".
//
// It holds a copy of the kernel's sockaddr (IPv4, IPv6 or UNIX), so it compares, copies
// and outlives any socket. IPv4-mapped IPv6 addresses (how a dual-stack listener sees its
// IPv4 peers) are stored as the IPv4 address they stand for.

#include <cstdint>
#include <iosfwd>
#include <string>

#include <sys/socket.h>

namespace anyio {

class socket_address {
public:
    // No address (family() == AF_UNSPEC), e.g. what an unconnected socket reports.
    socket_address() noexcept;
    // A copy of a kernel address; families other than AF_INET, AF_INET6 and AF_UNIX are
    // refused with std::invalid_argument.
    socket_address(const sockaddr* address, socklen_t size);

    // AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC.
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    // The IP address without port ("127.0.0.1", "::1", "fe80::1%2"), or the UNIX socket's
    // path ("@name" for an abstract one; empty for an unnamed one).
    [[nodiscard]] std::string host() const;
    // The port for IP addresses; 0 for UNIX and empty addresses.
    [[nodiscard]] std::uint16_t port() const noexcept;
    // "127.0.0.1:80", "[::1]:80", the UNIX path, or "" for no address.
    [[nodiscard]] std::string to_string() const;

    // For system calls: the sockaddr and its length.
    [[nodiscard]] const sockaddr* native() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t native_size() const noexcept { return size_; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

private:
    sockaddr_storage storage_;
    socklen_t size_;
};

// Writes to_string().
std::ostream& operator<<(std::ostream& out, const socket_address& address);

}  // namespace anyio
