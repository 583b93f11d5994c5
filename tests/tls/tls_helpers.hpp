#pragma once
// Test support for TLS tests: contexts from the test PKI, both ends of a handshake over a
// real TCP or UNIX connection, and reading a program's output up to a marker.

#include <anyio/anyio.hpp>

#include "tls/tls_pki.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace anyio_test {

// A server context with `cert` (a file name in the PKI, e.g. "server.pem"; key alongside).
inline anyio::tls_context server_context(const test_pki& pki, const std::string& cert = "server",
                                         const std::string& key = "") {
    anyio::tls_context context = anyio::tls_context::server();
    context.load_cert_chain(pki.file(cert + ".pem"), pki.file((key.empty() ? cert : key) + ".key"));
    return context;
}

// A client context that trusts the test CA (and, as every client context, checks names).
inline anyio::tls_context client_context(const test_pki& pki) {
    anyio::tls_context context = anyio::tls_context::client();
    context.load_verify_locations(pki.file("ca.pem"));
    return context;
}

inline anyio::tls_options client_options(const anyio::tls_context& context,
                                         const std::string& hostname = "localhost") {
    anyio::tls_options options;
    options.context = context;
    options.hostname = hostname;
    return options;
}

inline anyio::tls_options server_options(const anyio::tls_context& context) {
    anyio::tls_options options;
    options.context = context;
    return options;
}

// Both ends of one handshake; an end that failed has its error's what() instead.
struct handshake_result {
    std::optional<anyio::tls_stream> client;
    std::optional<anyio::tls_stream> server;
    std::string client_error;
    std::string server_error;
    anyio::tls_error client_tls_error{"", 0, ""};
};

enum class transport_kind { tcp, unix_socket };

namespace detail {
inline anyio::task<> server_end(anyio::socket_listener& listener, anyio::tls_options options,
                                handshake_result& result) {
    try {
        anyio::socket_stream stream = co_await listener.accept();
        result.server = co_await anyio::tls_stream::wrap(std::move(stream), options);
    } catch (const std::exception& e) {
        result.server_error = e.what();
    }
}

inline anyio::task<anyio::socket_stream> connect_to(const anyio::socket_listener& listener,
                                                    transport_kind kind) {
    if (kind == transport_kind::tcp) {
        co_return co_await anyio::connect_tcp("127.0.0.1", listener.local_address().port());
    }
    co_return co_await anyio::connect_unix(listener.local_address().host());
}

inline anyio::task<> client_end(const anyio::socket_listener& listener, transport_kind kind,
                                anyio::tls_options options, handshake_result& result) {
    try {
        anyio::socket_stream stream = co_await connect_to(listener, kind);
        result.client = co_await anyio::tls_stream::wrap(std::move(stream), options);
    } catch (const anyio::tls_error& e) {
        result.client_error = e.what();
        result.client_tls_error = e;
    } catch (const std::exception& e) {
        result.client_error = e.what();
    }
}
}  // namespace detail

// Connects a client to a server over a fresh listener (TCP on 127.0.0.1, or a UNIX socket
// in a temporary directory) and runs both handshakes at once.
inline anyio::task<handshake_result> handshake(anyio::tls_options client, anyio::tls_options server,
                                               transport_kind kind = transport_kind::tcp) {
    handshake_result result;
    std::optional<temp_dir> dir;
    anyio::socket_listener listener;
    if (kind == transport_kind::tcp) {
        listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
    } else {
        dir.emplace("anyio-tls-unix");
        listener = co_await anyio::create_unix_listener(dir->file("socket"));
    }
    const auto both = [&](anyio::task_group& group) -> anyio::task<> {
        group.start_soon(detail::server_end, std::ref(listener), server, std::ref(result));
        co_await detail::client_end(listener, kind, client, result);
    };
    co_await anyio::with_task_group(both);
    co_return result;
}

// Receives from `stream` into `seen` until it holds `marker`; throws with everything seen
// if the stream ends first.
inline anyio::task<> read_until(anyio::abc::byte_receive_stream& stream, std::string& seen,
                                std::string_view marker) {
    while (seen.find(marker) == std::string::npos) {
        std::string more;
        try {
            more = co_await stream.receive();
        } catch (const anyio::end_of_stream&) {
        }
        if (more.empty()) {
            throw std::runtime_error("ended before \"" + std::string(marker) + "\"; output:\n" +
                                     seen);
        }
        seen += more;
    }
}

// Whether awaiting `operation` throws an E (g++ 12 cannot co_await inside EXPECT_THROW).
template <class E, class T>
anyio::task<bool> throws(anyio::task<T> operation) {
    try {
        co_await std::move(operation);
    } catch (const E&) {
        co_return true;
    }
    co_return false;
}

}  // namespace anyio_test
