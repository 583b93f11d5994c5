#pragma once
// Host name resolution for the socket functions.

#include <anyio/socket_address.hpp>
#include <anyio/task.hpp>

#include <string>
#include <vector>

namespace anyio::detail {

// The stream-socket addresses of host:port, in getaddrinfo's order (never empty). A
// numeric address is converted in place; a name is looked up on a worker thread, so a slow
// DNS server never blocks the loop. A checkpoint; cancellation abandons a lookup in
// progress (its thread finishes on its own and the result is dropped). `passive`: for
// bind() rather than connect(). Throws resolve_error naming the host.
task<std::vector<socket_address>> resolve(std::string host, int port, bool passive);

}  // namespace anyio::detail
