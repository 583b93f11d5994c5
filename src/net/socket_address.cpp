#include <anyio/socket_address.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <ostream>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace anyio {

namespace {

const sockaddr_in& as_ipv4(const sockaddr* s) {
    return *reinterpret_cast<const sockaddr_in*>(s);
}
const sockaddr_in6& as_ipv6(const sockaddr* s) {
    return *reinterpret_cast<const sockaddr_in6*>(s);
}
const sockaddr_un& as_unix(const sockaddr* s) {
    return *reinterpret_cast<const sockaddr_un*>(s);
}

}  // namespace

socket_address::socket_address() noexcept {
    inline_.base.sa_family = AF_UNSPEC;
}

socket_address::socket_address(const sockaddr* address, socklen_t size) : socket_address() {
    if (address == nullptr || size < static_cast<socklen_t>(sizeof(sa_family_t)) ||
        size > static_cast<socklen_t>(sizeof(sockaddr_storage))) {
        throw std::invalid_argument("anyio: socket_address: bad sockaddr size");
    }
    const int family = address->sa_family;
    if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) {
        throw std::invalid_argument("anyio: socket_address: unsupported address family " +
                                    std::to_string(family));
    }
    if (family == AF_INET || family == AF_INET6) {
        // A caller may pass the size of its sockaddr_storage: only the family's part counts.
        const std::size_t exact = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        if (size < static_cast<socklen_t>(exact)) {
            throw std::invalid_argument("anyio: socket_address: sockaddr too short for its family");
        }
        size = static_cast<socklen_t>(exact);
    } else if (size > static_cast<socklen_t>(sizeof(sockaddr_un))) {
        throw std::invalid_argument("anyio: socket_address: sockaddr_un too long");
    }
    size_ = size;
    if (size > static_cast<socklen_t>(sizeof inline_)) {
        auto path = std::make_shared<sockaddr_un>();
        std::memcpy(path.get(), address, size);
        path_ = std::move(path);
        return;
    }
    std::memcpy(&inline_, address, size);
    if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&inline_.ipv6.sin6_addr)) {
        const sockaddr_in6 mapped = inline_.ipv6;
        inline_ = {};
        inline_.ipv4.sin_family = AF_INET;
        inline_.ipv4.sin_port = mapped.sin6_port;
        std::memcpy(&inline_.ipv4.sin_addr, &mapped.sin6_addr.s6_addr[12],
                    sizeof inline_.ipv4.sin_addr);
        size_ = sizeof inline_.ipv4;
    }
}

std::string socket_address::host() const {
    char text[INET6_ADDRSTRLEN + 16] = {};
    switch (family()) {
        case AF_INET:
            ::inet_ntop(AF_INET, &as_ipv4(native()).sin_addr, text, sizeof text);
            return text;
        case AF_INET6: {
            const sockaddr_in6& a = as_ipv6(native());
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
            const char* path = as_unix(native()).sun_path;
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
            return ntohs(as_ipv4(native()).sin_port);
        case AF_INET6:
            return ntohs(as_ipv6(native()).sin6_port);
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
    return a.size_ == b.size_ && std::memcmp(a.native(), b.native(), a.size_) == 0;
}

std::ostream& operator<<(std::ostream& out, const socket_address& address) {
    return out << address.to_string();
}

}  // namespace anyio
