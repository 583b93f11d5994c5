#pragma once
// anyio::socket_address: where a socket is bound or connected, as a small value type that
// prints the way people write addresses: "127.0.0.1:80", "[::1]:80", "/run/app.sock".
//
// It holds a copy of the kernel's sockaddr (IPv4, IPv6 or UNIX), so it compares, copies
// and outlives any socket. IPv4-mapped IPv6 addresses (how a dual-stack listener sees its
// IPv4 peers) are stored as the IPv4 address they stand for.
//
// 48 bytes: IP addresses are held inline; a UNIX address with a path (up to 110 bytes)
// lives in one heap block that copies share. Every connection keeps two of these (its
// local and remote address), so their size is part of what an idle connection costs.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace anyio {

class socket_address {
public:
    // No address (family() == AF_UNSPEC), e.g. what an unconnected socket reports.
    socket_address() noexcept;
    // A copy of a kernel address; families other than AF_INET, AF_INET6 and AF_UNIX are
    // refused with std::invalid_argument.
    socket_address(const sockaddr* address, socklen_t size);

    // AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC.
    [[nodiscard]] int family() const noexcept { return native()->sa_family; }
    // The IP address without port ("127.0.0.1", "::1", "fe80::1%2"), or the UNIX socket's
    // path ("@name" for an abstract one; empty for an unnamed one).
    [[nodiscard]] std::string host() const;
    // The port for IP addresses; 0 for UNIX and empty addresses.
    [[nodiscard]] std::uint16_t port() const noexcept;
    // "127.0.0.1:80", "[::1]:80", the UNIX path, or "" for no address.
    [[nodiscard]] std::string to_string() const;

    // For system calls: the sockaddr and its length.
    [[nodiscard]] const sockaddr* native() const noexcept {
        return path_ ? reinterpret_cast<const sockaddr*>(path_.get()) : &inline_.base;
    }
    [[nodiscard]] socklen_t native_size() const noexcept { return size_; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;

private:
    union inline_address {
        sockaddr base;
        sockaddr_in ipv4;
        sockaddr_in6 ipv6;
    };
    inline_address inline_{};                  // IP, unnamed UNIX and empty addresses
    std::shared_ptr<const sockaddr_un> path_;  // a UNIX address too long for inline_
    socklen_t size_ = 0;
};

// Writes to_string().
std::ostream& operator<<(std::ostream& out, const socket_address& address);

}  // namespace anyio
