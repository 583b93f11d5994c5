#include "tls/tls_state.hpp"

#include <anyio/cancel_scope.hpp>

#include "core/schedule_point.hpp"
#include "tls/openssl_errors.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>

namespace anyio::detail {

namespace {

// How much one receive from the transport asks for: a few full TLS records (16 KiB of
// plaintext each), so a bulk transfer costs few transport calls.
constexpr std::size_t feed_size = 65536;

bool is_ip_address(const std::string& host) {
    unsigned char address[16];
    return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// The client's context when wrap() is given none: made once, shared by every loop (an
// SSL_CTX may be used by several threads once configured). Loading the system's trust store
// takes milliseconds, too much for each connection.
const tls_context& default_client_context() {
    static const tls_context context = tls_context::client();
    return context;
}

bool is_unexpected_eof(int ssl_error) {
    if (ssl_error == SSL_ERROR_SYSCALL) return true;
    if (ssl_error != SSL_ERROR_SSL) return false;
    const unsigned long code = ERR_peek_error();
    return ERR_GET_LIB(code) == ERR_LIB_SSL &&
           ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

}  // namespace

std::unique_ptr<tls_state> tls_state::create(std::unique_ptr<abc::byte_stream> transport,
                                             tls_options& options) {
    if (!transport) throw std::invalid_argument("anyio: tls_stream::wrap: no transport stream");
    auto state = std::make_unique<tls_state>();
    state->transport = std::move(transport);
    const tls_context& context = options.context.empty() && !options.server_side.value_or(false)
                                     ? default_client_context()
                                     : options.context;
    if (context.empty()) {
        throw std::invalid_argument(
            "anyio: tls_stream::wrap: a server needs a context with its certificate "
            "(tls_context::server().load_cert_chain(...))");
    }
    state->context = context.state_;
    state->server_side = options.server_side.value_or(state->context->side == tls_side::server);
    state->standard_compatible = options.standard_compatible;
    state->hostname = options.hostname;
    if (!state->server_side && state->context->check_hostname && state->hostname.empty()) {
        throw std::invalid_argument(
            "anyio: tls_stream::wrap: the context checks the server's host name, so the "
            "client needs options.hostname (or set_check_hostname(false) on the context)");
    }

    ERR_clear_error();
    state->ssl = SSL_new(state->context->ctx);
    state->rbio = BIO_new(BIO_s_mem());
    state->wbio = BIO_new(BIO_s_mem());
    if (state->ssl == nullptr || state->rbio == nullptr || state->wbio == nullptr) {
        BIO_free(state->rbio);
        BIO_free(state->wbio);
        state->rbio = state->wbio = nullptr;
        const std::string reason = take_openssl_reason();
        throw tls_error("anyio: tls_stream::wrap: " + reason, 0, reason);
    }
    // An empty input buffer means "not yet" until the transport has ended.
    BIO_set_mem_eof_return(state->rbio, -1);
    SSL_set_bio(state->ssl, state->rbio, state->wbio);
    if (state->server_side) {
        SSL_set_accept_state(state->ssl);
    } else {
        SSL_set_connect_state(state->ssl);
        const std::string& host = state->hostname;
        if (!host.empty()) {
            const bool ip = is_ip_address(host);
            // SNI carries host names only (RFC 6066), never an address.
            if (!ip && SSL_set_tlsext_host_name(state->ssl, host.c_str()) != 1) {
                throw std::invalid_argument("anyio: tls_stream::wrap: bad hostname \"" + host +
                                            "\"");
            }
            if (state->context->check_hostname) {
                const int ok =
                    ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(state->ssl), host.c_str())
                       : SSL_set1_host(state->ssl, host.c_str());
                if (ok != 1) {
                    throw std::invalid_argument("anyio: tls_stream::wrap: bad hostname \"" + host +
                                                "\"");
                }
            }
        }
    }
    ERR_clear_error();
    return state;
}

void tls_state::throw_failure(const char* doing, int ssl_error) {
    const long verify_result = SSL_get_verify_result(ssl);
    std::string reason = take_openssl_reason();
    std::string detail;
    if (verify_result != X509_V_OK && (reason.empty() || reason == "certificate verify failed")) {
        detail = X509_verify_cert_error_string(verify_result);
        if (reason.empty()) reason = "certificate verify failed";
    }
    if (reason.empty()) {
        reason = ssl_error == SSL_ERROR_SYSCALL ? "the connection ended"
                                                : "OpenSSL error " + std::to_string(ssl_error);
    }
    std::string what = std::string("anyio: TLS ") + doing;
    if (!handshaken) {
        what += server_side ? " with a client"
                            : " with " + (hostname.empty() ? "the server" : hostname);
    }
    what += " failed: " + reason;
    if (!detail.empty()) what += ": " + detail;
    throw tls_error(what, detail.empty() ? 0 : verify_result, detail.empty() ? reason : detail);
}

task<> tls_state::handshake() {
    for (;;) {
        ERR_clear_error();
        const int rc = SSL_do_handshake(ssl);
        if (rc == 1) break;
        const int error = SSL_get_error(ssl, rc);
        if (error == SSL_ERROR_WANT_READ && !transport_ended) {
            co_await need_input();
            continue;
        }
        std::exception_ptr failure;
        try {
            if (transport_ended && (error == SSL_ERROR_WANT_READ || is_unexpected_eof(error))) {
                ERR_clear_error();
                throw tls_error(std::string("anyio: TLS handshake with ") +
                                    (server_side        ? "a client"
                                     : hostname.empty() ? "the server"
                                                        : hostname) +
                                    " failed: the peer closed the connection during the handshake",
                                0, "unexpected EOF");
            }
            throw_failure("handshake", error);
        } catch (const tls_error&) {
            failure = std::current_exception();
        }
        // Tell the peer why (the alert OpenSSL wrote), if the transport still takes it.
        try {
            co_await flush();
        } catch (const std::exception&) {
        }
        std::rethrow_exception(failure);
    }
    handshaken = true;
    co_await flush();
}

bool tls_state::try_read(char* data, std::size_t size, std::size_t& got) {
    ERR_clear_error();
    const int rc = SSL_read_ex(ssl, data, size, &got);
    if (rc == 1) return true;
    const int error = SSL_get_error(ssl, rc);
    if (error == SSL_ERROR_WANT_READ && !transport_ended) return false;
    if (error == SSL_ERROR_ZERO_RETURN) throw end_of_stream();  // the peer's close_notify
    if (transport_ended && (error == SSL_ERROR_WANT_READ || is_unexpected_eof(error))) {
        ERR_clear_error();
        if (!standard_compatible) throw end_of_stream();
        throw broken_resource_error(
            "anyio: TLS: the peer ended the connection without close_notify (unexpected EOF; a "
            "truncation attack would look the same; standard_compatible=false accepts it)");
    }
    throw_failure("receive", error);
}

task<> tls_state::need_input() {
    co_await flush();
    std::string bytes;
    try {
        bytes = co_await transport->receive(feed_size);
    } catch (const end_of_stream&) {
        // Either convention for the end: end_of_stream here, an empty result below.
    }
    if (bytes.empty()) {
        transport_ended = true;
        BIO_set_mem_eof_return(rbio, 0);  // OpenSSL now sees the end of its input
        co_return;
    }
    BIO_write(rbio, bytes.data(), static_cast<int>(bytes.size()));
}

task<> tls_state::flush() {
    if (BIO_ctrl_pending(wbio) == 0) co_return;
    lock_guard held = send_lock.try_acquire_guard();
    if (!held) held = co_await send_lock.acquire_guard();
    while (const std::size_t pending = BIO_ctrl_pending(wbio)) {
        if (send_broken) {
            throw broken_resource_error(
                "anyio: TLS: an earlier send was cut short in the middle of a record; the "
                "session cannot send any more");
        }
        // Nothing has left when this throws, so the records stay whole (see below).
        throw_if_cancelled("tls_stream");
        std::string out(pending, '\0');
        BIO_read(wbio, out.data(), static_cast<int>(pending));
        try {
            co_await transport->send(out);
        } catch (...) {
            // Some of the bytes may have gone: the peer would see a torn record.
            send_broken = true;
            throw;
        }
    }
}

task<> tls_state::shutdown(bool wait_for_peer) {
    if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0) {
        ERR_clear_error();
        const int rc = SSL_shutdown(ssl);
        if (rc < 0) throw_failure("shutdown", SSL_get_error(ssl, rc));
        eof_sent = true;
        co_await flush();
    }
    if (!wait_for_peer) co_return;
    // The peer's close_notify: what data comes before it is discarded (AnyIO's unwrap does
    // the same through SSL_shutdown).
    char discard[4096];
    for (;;) {
        std::size_t got = 0;
        try {
            if (try_read(discard, sizeof discard, got)) continue;
        } catch (const end_of_stream&) {
            if ((SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0 || !standard_compatible) {
                co_return;
            }
            throw;
        }
        co_await need_input();
    }
}

std::string tls_state::take_unread() {
    std::string unread(BIO_ctrl_pending(rbio), '\0');
    if (!unread.empty()) BIO_read(rbio, unread.data(), static_cast<int>(unread.size()));
    return unread;
}

task<> tls_state::close_transport_forcefully() {
    cancel_scope scope;
    scope.cancel();
    abc::byte_stream* stream = transport.get();
    const auto close = [stream]() -> task<> { co_await stream->aclose(); };
    co_await scope.run(close);
}

}  // namespace anyio::detail
