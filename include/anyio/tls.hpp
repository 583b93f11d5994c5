#pragma once
// TLS over any byte stream, with OpenSSL 3 (AnyIO's anyio.streams.tls): tls_context (what
// the ssl module's SSLContext holds), tls_stream (TLSStream), tls_listener (TLSListener,
// in tls_listener.hpp).
//
//     anyio::tls_options options;
//     options.hostname = "example.com";  // SNI and the name the certificate must carry
//     anyio::socket_stream tcp = co_await anyio::connect_tcp("example.com", 443);
//     anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), options);
//     co_await tls.send("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
//
// OpenSSL never touches a descriptor: it encrypts into and decrypts from memory buffers,
// and the wrapped stream (a socket_stream, a UNIX socket, a pipe pair, another tls_stream)
// carries the bytes. So TLS works over every abc::byte_stream, and cancellation is the
// wrapped stream's.
//
// Errors: a failed handshake or a TLS protocol error throws tls_error (a
// broken_resource_error: the session cannot be used any more), whose what() names the
// cause, e.g. "anyio: TLS handshake with localhost failed: certificate verify failed:
// certificate has expired". The end of the session follows AnyIO's standard_compatible:
// see tls_options.
//
// g++ 12 pitfall: build the tls_options in a statement of its own (no braced list inside a
// co_await expression).
//
// Loop thread only; a stream belongs to the loop of the task that first uses it. A
// tls_context may be shared by any number of streams and loops once configured; configure
// it (the set_/load_ calls) before its first use, from one thread.

#include <anyio/abc/byte_streams.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// OpenSSL's types, declared so that this header does not include OpenSSL's (they are the
// structs behind SSL_CTX and SSL).
struct ssl_ctx_st;
struct ssl_st;

namespace anyio {

// A TLS failure: the handshake failed (a certificate was refused, no protocol or cipher in
// common, the peer does not speak TLS) or a TLS record was bad. A broken_resource_error,
// because the session is unusable afterwards and code that handles a peer that went away
// handles this too. what() names the cause, from OpenSSL's own words.
class tls_error : public broken_resource_error {
public:
    tls_error(const std::string& what, long verify_result, std::string reason)
        : broken_resource_error(what),
          verify_result_(verify_result),
          reason_(std::make_shared<const std::string>(std::move(reason))) {}
    // The certificate verification result (OpenSSL's X509_V_ERR_* code) when this side
    // refused the peer's certificate; 0 (X509_V_OK) otherwise.
    [[nodiscard]] long verify_result() const noexcept { return verify_result_; }
    // The cause alone, e.g. "certificate has expired", "hostname mismatch",
    // "tlsv1 alert unknown ca", "wrong version number".
    [[nodiscard]] const std::string& reason() const noexcept { return *reason_; }

private:
    long verify_result_;
    std::shared_ptr<const std::string> reason_;  // shared: copying must not throw
};

enum class tls_side : unsigned char { client, server };

// Whether the peer must show a certificate (Python's CERT_NONE, CERT_OPTIONAL,
// CERT_REQUIRED). On a server, `optional` and `required` ask the client for one.
enum class tls_verify : unsigned char { none, optional, required };

enum class tls_version : unsigned char { tls1_2, tls1_3 };

namespace detail {
struct tls_context_state;
struct tls_state;
}  // namespace detail

// The settings shared by many TLS sessions (an OpenSSL SSL_CTX). A handle: copies share one
// context. An empty (default-constructed) one means "the default client context" to
// tls_stream::wrap.
class tls_context {
public:
    tls_context() noexcept = default;

    // A client's context (Python's create_default_context()): the system's trust store,
    // verify_mode required, check_hostname on, TLS 1.2 at least.
    [[nodiscard]] static tls_context client();
    // A server's context: TLS 1.2 at least, no client certificate asked for (set_verify_mode
    // for mutual TLS). It needs load_cert_chain before use.
    [[nodiscard]] static tls_context server();

    // This side's certificate chain (PEM: the certificate, then its intermediates) and
    // private key (PEM; "" means in the certificate file). Throws tls_error naming the file
    // and OpenSSL's reason (missing file, key that does not match the certificate).
    tls_context& load_cert_chain(const std::string& certfile, const std::string& keyfile = "");
    // Certificates (PEM) to trust for verifying the peer, added to what is trusted already.
    // Throws tls_error naming the file.
    tls_context& load_verify_locations(const std::string& cafile);
    // The same from PEM text in memory (Python's cadata).
    tls_context& load_verify_data(std::string_view pem);
    // ALPN: a client offers these protocols, a server picks the first of its own list that
    // the client offered (none in common: the handshake goes on without ALPN, as in
    // Python). Each name 1..255 bytes, else std::invalid_argument.
    tls_context& set_alpn_protocols(const std::vector<std::string>& protocols);
    // std::invalid_argument for `none` while check_hostname is on (Python's rule).
    tls_context& set_verify_mode(tls_verify mode);
    // Whether a client checks that the server's certificate names `hostname` (a DNS name
    // or an IP address). Turning it on also sets verify_mode to required.
    tls_context& set_check_hostname(bool check);
    tls_context& set_minimum_version(tls_version version);
    tls_context& set_maximum_version(tls_version version);

    [[nodiscard]] bool empty() const noexcept { return state_ == nullptr; }
    [[nodiscard]] tls_side side() const;
    [[nodiscard]] tls_verify verify_mode() const;
    [[nodiscard]] bool check_hostname() const;
    // The SSL_CTX (OpenSSL's, for settings this class does not cover). Still owned.
    [[nodiscard]] ssl_ctx_st* native_handle() const noexcept;

private:
    explicit tls_context(std::shared_ptr<detail::tls_context_state> state) noexcept
        : state_(std::move(state)) {}
    detail::tls_context_state& state(const char* what) const;
    friend struct detail::tls_state;
    std::shared_ptr<detail::tls_context_state> state_;
};

// tls_stream::wrap's parameters (AnyIO's TLSStream.wrap).
struct tls_options {
    // Which side of the handshake this is; empty: the context's side.
    std::optional<bool> server_side;
    // The server's name (a DNS name or an IP address), for a client: sent as SNI (unless an
    // IP address) and checked against the certificate when the context's check_hostname is
    // on (then it is required: std::invalid_argument without it).
    std::string hostname;
    // Empty: tls_context::client() (one per process, made on first use) for a client; a
    // server must give its own.
    tls_context context;
    // AnyIO's standard_compatible. true (the default): aclose() sends close_notify and waits
    // for the peer's, and the transport ending without the peer's close_notify is an error
    // (broken_resource_error naming it: a truncation attack would look like that). false:
    // aclose() just closes the transport, and an end without close_notify is the end of
    // the stream (for protocols like HTTP that frame their messages themselves).
    bool standard_compatible = true;
};

// What tls_stream::unwrap returns: the plain stream, and the bytes already received past
// the end of the TLS session (the peer's first clear-text bytes, if any).
struct tls_unwrapped {
    std::unique_ptr<abc::byte_stream> stream;
    std::string leftover;
};

// A TLS session over a byte stream it owns. Implements abc::byte_stream: receive_into and
// receive return the decrypted bytes (end_of_stream after the peer's close_notify), send
// encrypts. Full duplex: one task may receive while another sends; a second concurrent
// receive (or send) gets busy_resource_error. Movable (not while an operation runs).
//
// Every operation is a checkpoint, as the wrapped stream's are; cancellation is theirs. A
// receive cancelled while it waits loses nothing. A send cancelled while the wrapped
// stream was sending may have sent part of a TLS record: later sends then throw
// broken_resource_error (receives go on).
class tls_stream final : public abc::byte_stream {
public:
    // A closed stream.
    tls_stream() noexcept;
    tls_stream(tls_stream&&) noexcept;
    tls_stream& operator=(tls_stream&&) noexcept;
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;
    // Frees the session and destroys the wrapped stream (closing it) without a
    // close_notify: call aclose() for a clean end.
    ~tls_stream() override;

    // Takes the stream and does the TLS handshake over it. A checkpoint; cancelling it at
    // any point frees the session and closes the stream. On failure the stream is closed
    // and tls_error (a certificate refused, no common protocol, not TLS), broken_resource_
    // error (the transport ended or broke) or the transport's own error is thrown.
    // std::invalid_argument for bad options (a client checking host names without a
    // hostname, an empty server context).
    [[nodiscard]] static task<tls_stream> wrap(std::unique_ptr<abc::byte_stream> transport,
                                               tls_options options = {});
    // The same for a concrete stream moved in (socket_stream, byte_stream, tls_stream...).
    template <class S>
    requires std::derived_from<S, abc::byte_stream> &&(!std::is_lvalue_reference_v<S>)
        [[nodiscard]] static task<tls_stream> wrap(S&& transport, tls_options options = {}) {
        return wrap(std::unique_ptr<abc::byte_stream>(std::make_unique<S>(std::move(transport))),
                    std::move(options));
    }

    // Decrypted bytes: at least one, at most buffer.size(). Throws end_of_stream after the
    // peer's close_notify (or, not standard_compatible, at the transport's end),
    // broken_resource_error when the transport ended without close_notify in standard
    // mode, tls_error for a bad record, closed_resource_error once closed.
    [[nodiscard]] task<std::size_t> receive_into(std::span<char> buffer) override;
    [[nodiscard]] task<std::string> receive(std::size_t max_bytes = 65536) override;
    // Encrypts and sends every byte. closed_resource_error after aclose or send_eof.
    [[nodiscard]] task<> send(std::string_view bytes) override;
    // Sends close_notify and keeps receiving: TLS 1.3's half-close. With TLS 1.2, whose
    // peers answer close_notify by closing, throws std::logic_error (as AnyIO does).
    [[nodiscard]] task<> send_eof() override;
    // Ends the session: standard_compatible, sends close_notify and waits for the peer's
    // (discarding what data comes before it), then closes the transport; otherwise closes
    // the transport at once. If that fails or is cancelled, the transport is closed anyway
    // and the error propagates (AnyIO's aclose_forcefully). Idempotent. A task blocked in
    // receive on this stream gets closed_resource_error (then close_notify is sent but
    // not waited for).
    [[nodiscard]] task<> aclose() override;
    // The TLS closing handshake (close_notify both ways); returns the transport, open, and
    // any bytes received after the peer's close_notify. The stream is closed afterwards.
    // A checkpoint; if it fails, the transport is closed and the error propagates.
    [[nodiscard]] task<tls_unwrapped> unwrap();

    [[nodiscard]] bool is_open() const noexcept;
    [[nodiscard]] bool server_side() const;
    [[nodiscard]] bool standard_compatible() const;
    // The negotiated ALPN protocol ("" when none).
    [[nodiscard]] std::string alpn_protocol() const;
    // The SNI name: on a client, what it sent; on a server, what the client asked for
    // ("" when none).
    [[nodiscard]] std::string server_hostname() const;
    // "TLSv1.3", "TLSv1.2".
    [[nodiscard]] std::string tls_version() const;
    // The cipher suite's name, e.g. "TLS_AES_256_GCM_SHA384".
    [[nodiscard]] std::string cipher() const;
    // The peer's certificate: its subject (RFC 2253, e.g. "CN=localhost"), its issuer, and
    // its DER bytes. Empty when the peer sent none (a client without a certificate).
    [[nodiscard]] std::string peer_certificate_subject() const;
    [[nodiscard]] std::string peer_certificate_issuer() const;
    [[nodiscard]] std::string peer_certificate_der() const;
    // The stream TLS runs over.
    [[nodiscard]] abc::byte_stream& transport_stream() const;
    // The same as S* (e.g. socket_stream, for its addresses); nullptr when it is not an S.
    template <class S>
    [[nodiscard]] S* transport_as() const {
        return dynamic_cast<S*>(&transport_stream());
    }
    // The session's SSL object (OpenSSL's). Still owned.
    [[nodiscard]] ssl_st* native_handle() const noexcept;

private:
    explicit tls_stream(std::unique_ptr<detail::tls_state> state) noexcept;
    detail::tls_state& state(const char* what) const;
    std::unique_ptr<detail::tls_state> state_;
};

}  // namespace anyio
