#include "net/resolve.hpp"

#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>
#include <anyio/to_thread.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include <netdb.h>
#include <sys/socket.h>

namespace anyio::detail {

namespace {

struct lookup_result {
    int status = 0;
    int system_errno = 0;  // for EAI_SYSTEM
    std::vector<socket_address> addresses;
};

// getaddrinfo for stream sockets; blocks for as long as DNS takes unless `numeric_only`.
lookup_result lookup(const std::string& host, int port, bool passive, bool numeric_only) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags =
        AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (numeric_only ? AI_NUMERICHOST : 0);
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    lookup_result result;
    result.status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    result.system_errno = errno;
    if (result.status != 0) return result;
    const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
            result.addresses.emplace_back(a->ai_addr, a->ai_addrlen);
        }
    }
    if (result.addresses.empty()) result.status = EAI_NONAME;
    return result;
}

[[noreturn]] void throw_resolve_error(const std::string& host, const lookup_result& result) {
    const std::string reason = result.status == EAI_SYSTEM ? std::strerror(result.system_errno)
                                                           : ::gai_strerror(result.status);
    throw resolve_error(host, result.status, "anyio: cannot resolve \"" + host + "\": " + reason);
}

}  // namespace

task<std::vector<socket_address>> resolve(std::string host, int port, bool passive) {
    co_await checkpoint();
    lookup_result numeric = lookup(host, port, passive, true);
    if (numeric.status == 0) co_return std::move(numeric.addresses);
    // A name may take as long as DNS does: look it up in a worker thread. Abandoned on
    // cancellation (getaddrinfo cannot be interrupted): the thread finishes the lookup on
    // its own and the result is dropped.
    to_thread::run_sync_options options;
    options.abandon_on_cancel = true;
    lookup_result named = co_await to_thread::run_sync(options, lookup, host, port, passive, false);
    if (named.status != 0) throw_resolve_error(host, named);
    co_return std::move(named.addresses);
}

}  // namespace anyio::detail
