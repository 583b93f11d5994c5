#pragma once
// UNIX domain stream sockets: connect_unix and create_unix_listener (AnyIO's names).
//
// A path beginning with '@' names a socket in Linux's abstract namespace (no file).

#include <anyio/socket_listener.hpp>
#include <anyio/socket_stream.hpp>
#include <anyio/task.hpp>

#include <string>

namespace anyio {

// Connects to the UNIX stream socket at `path`. A checkpoint; cancellation abandons the
// attempt and closes its socket. While the listener's backlog is full (the kernel then
// refuses a non-blocking connect with EAGAIN) it retries every few milliseconds. Throws
// std::invalid_argument for an empty or too long path (108 bytes with the terminator),
// connect_error (ENOENT, ECONNREFUSED, ...) naming the path. Loop thread only.
[[nodiscard]] task<socket_stream> connect_unix(std::string path);

// Listens on a new UNIX stream socket at `path`.
//
// A socket file left behind by a process that died is removed first, but only when nothing
// listens on it (a probe connect is refused): a live server's socket, or any other kind of
// file, makes this throw std::system_error (EADDRINUSE) instead of stealing the path (that
// live server sees the probe as a connection that ends at once). Closing
// the listener removes its socket file, if the path still names that file. A checkpoint.
// Throws std::invalid_argument for an empty or too long path. Loop thread only.
[[nodiscard]] task<unix_listener> create_unix_listener(std::string path, int backlog = 65536);

}  // namespace anyio
