#include <anyio/socket_address.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace anyio {

namespace {

const sockaddr_in& as_ipv4(const sockaddr_storage& s) {
    return reinterpret_cast<const sockaddr_in&>(s);
}
const sockaddr_in6& as_ipv6(const sockaddr_storage& s) {
    return reinterpret_cast<const sockaddr_in6&>(s);
}
const sockaddr_un& as_unix(const sockaddr_storage& s) {
    return reinterpret_cast<const sockaddr_un&>(s);
}

}  // namespace

socket_address::socket_address() noexcept : storage_{}, size_(0) {
    storage_.ss_family = AF_UNSPEC;
}

socket_address::socket_address(const sockaddr* address, socklen_t size) : socket_address() {
    if (address == nullptr || size < static_cast<socklen_t>(sizeof(sa_family_t)) ||
        size > static_cast<socklen_t>(sizeof storage_)) {
        throw std::invalid_argument("anyio: socket_address: bad sockaddr size");
    }
    const int family = address->sa_family;
    if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) {
        throw std::invalid_argument("anyio: socket_address: unsupported address family " +
                                    std::to_string(family));
    }
    std::memcpy(&storage_, address, size);
    size_ = size;
    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&as_ipv6(storage_).sin6_addr)) {
        const sockaddr_in6 mapped = as_ipv6(storage_);
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        v4.sin_port = mapped.sin6_port;
        std::memcpy(&v4.sin_addr, &mapped.sin6_addr.s6_addr[12], sizeof v4.sin_addr);
        storage_ = {};
        std::memcpy(&storage_, &v4, sizeof v4);
        size_ = sizeof v4;
    }
}

std::string socket_address::host() const {
    char text[INET6_ADDRSTRLEN + 16] = {};
    switch (family()) {
        case AF_INET:
            ::inet_ntop(AF_INET, &as_ipv4(storage_).sin_addr, text, sizeof text);
            return text;
        case AF_INET6: {
            const sockaddr_in6& a = as_ipv6(storage_);
            ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
            std::string result = text;
            if (a.sin6_scope_id != 0) {
                result.push_back('%');
                result.append(std::to_string(a.sin6_scope_id));
            }
            return result;
        }
        case AF_UNIX: {
            const std::size_t offset = offsetof(sockaddr_un, sun_path);
            if (size_ <= offset) return {};  // unnamed
            const char* path = as_unix(storage_).sun_path;
            std::size_t length = size_ - offset;
            if (path[0] == '\0') {  // abstract
                std::string name(1, '@');
                name.append(path + 1, length - 1);
                return name;
            }
            length = static_cast<std::size_t>(std::find(path, path + length, '\0') - path);
            return std::string(path, length);
        }
        default:
            return {};
    }
}

std::uint16_t socket_address::port() const noexcept {
    switch (family()) {
        case AF_INET:
            return ntohs(as_ipv4(storage_).sin_port);
        case AF_INET6:
            return ntohs(as_ipv6(storage_).sin6_port);
        default:
            return 0;
    }
}

std::string socket_address::to_string() const {
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + string.
    std::string text;
    switch (family()) {
        case AF_INET:
            text = host();
            break;
        case AF_INET6:
            text.push_back('[');
            text.append(host());
            text.push_back(']');
            break;
        default:
            return host();
    }
    text.push_back(':');
    text.append(std::to_string(port()));
    return text;
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

std::ostream& operator<<(std::ostream& out, const socket_address& address) {
    return out << address.to_string();
}

}  // namespace anyio
