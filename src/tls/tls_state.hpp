#pragma once
// The engine behind tls_context and tls_stream: an SSL_CTX with what Python's SSLContext
// keeps next to it, and one session (an SSL over two memory BIOs) with the wrapped stream
// that carries its bytes. OpenSSL writes records into `wbio` and reads them from `rbio`;
// these coroutines move bytes between those buffers and the transport, so OpenSSL never
// sees a descriptor and never blocks.

#include <anyio/lock.hpp>
#include <anyio/tls.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

namespace anyio::detail {

struct tls_context_state {
    SSL_CTX* ctx = nullptr;
    tls_side side = tls_side::client;
    tls_verify verify = tls_verify::none;
    bool check_hostname = false;
    std::string alpn_wire;  // ALPN protocols in the wire format (length-prefixed)

    tls_context_state() = default;
    tls_context_state(const tls_context_state&) = delete;
    tls_context_state& operator=(const tls_context_state&) = delete;
    ~tls_context_state() { SSL_CTX_free(ctx); }
};

struct tls_state {
    // Makes the session (not yet handshaken). std::invalid_argument for bad options.
    static std::unique_ptr<tls_state> create(std::unique_ptr<abc::byte_stream> transport,
                                             tls_options& options);
    static tls_context_state& context_of(const tls_context& context, const char* what) {
        return context.state(what);
    }

    tls_state() = default;
    tls_state(const tls_state&) = delete;
    tls_state& operator=(const tls_state&) = delete;
    ~tls_state() { SSL_free(ssl); }

    task<> handshake();
    // One SSL_read into data: true with `got` set, false when OpenSSL needs more input.
    // Throws end_of_stream, broken_resource_error, tls_error.
    bool try_read(char* data, std::size_t size, std::size_t& got);
    // Waits for more input: sends what OpenSSL wrote, then receives once from the
    // transport into rbio (or notes its end).
    task<> need_input();
    // Sends what OpenSSL wrote (records, alerts), under send_lock so concurrent flushes keep
    // the records in order.
    task<> flush();
    // Sends close_notify if not sent yet; when wait_for_peer, then reads (discarding data)
    // until the peer's close_notify.
    task<> shutdown(bool wait_for_peer);
    // The bytes received from the transport that OpenSSL did not read.
    std::string take_unread();
    // Closes the transport even if this task is cancelled (AnyIO's aclose_forcefully).
    task<> close_transport_forcefully();

    [[noreturn]] void throw_failure(const char* doing, int ssl_error);

    std::shared_ptr<tls_context_state> context;
    std::unique_ptr<abc::byte_stream> transport;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr;  // owned by ssl
    BIO* wbio = nullptr;  // owned by ssl
    std::string hostname;
    bool server_side = false;
    bool standard_compatible = true;
    bool handshaken = false;
    bool transport_ended = false;
    bool closed = false;
    bool eof_sent = false;
    bool send_broken = false;  // a transport send was cut short: records are incomplete
    bool receiving = false;
    bool sending = false;
    lock send_lock;
};

}  // namespace anyio::detail
