#include <anyio/time.hpp>
#include <anyio/tls.hpp>

#include "core/schedule_point.hpp"
#include "io/busy_guard.hpp"
#include "tls/tls_state.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

namespace anyio {

namespace {

using detail::busy_guard;

// Where receive() decrypts before it knows how much there is: one buffer per thread, used
// only between SSL_read and the copy after it, never across a suspension (as byte_stream
// does), so a waiting stream holds no buffer.
constexpr std::size_t scratch_size = 65536;
char* receive_scratch() {
    thread_local const std::unique_ptr<char[]> scratch(new char[scratch_size]);
    return scratch.get();
}

// One SSL_write at most this big, then its records go out: a large send never holds more
// than this in ciphertext.
constexpr std::size_t write_chunk = 65536;

std::string name_text(const X509_NAME* name) {
    if (name == nullptr) return {};
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) return {};
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    std::string text(BIO_ctrl_pending(bio), '\0');
    if (!text.empty()) BIO_read(bio, text.data(), static_cast<int>(text.size()));
    BIO_free(bio);
    return text;
}

}  // namespace

tls_stream::tls_stream() noexcept = default;
tls_stream::tls_stream(std::unique_ptr<detail::tls_state> state) noexcept
    : state_(std::move(state)) {}
tls_stream::tls_stream(tls_stream&&) noexcept = default;
tls_stream& tls_stream::operator=(tls_stream&&) noexcept = default;
tls_stream::~tls_stream() = default;

detail::tls_state& tls_stream::state(const char* what) const {
    if (!state_) {
        throw closed_resource_error(std::string("anyio: tls_stream::") + what +
                                    " on a closed (or moved-from, or unwrapped) stream");
    }
    return *state_;
}

bool tls_stream::is_open() const noexcept {
    return state_ && !state_->closed;
}

task<tls_stream> tls_stream::wrap(std::unique_ptr<abc::byte_stream> transport,
                                  tls_options options) {
    detail::throw_if_cancelled("tls_stream::wrap()");
    // Owned by this frame until the handshake succeeds: cancellation or failure anywhere
    // frees the session and destroys (closes) the transport.
    std::unique_ptr<detail::tls_state> state =
        detail::tls_state::create(std::move(transport), options);
    co_await state->handshake();
    co_return tls_stream(std::move(state));
}

task<std::size_t> tls_stream::receive_into(std::span<char> buffer) {
    if (buffer.empty()) throw std::invalid_argument("anyio: receive_into needs a non-empty buffer");
    detail::tls_state& s = state("receive_into");
    const busy_guard busy(s.receiving, "anyio: another task is already receiving on this stream");
    detail::throw_if_cancelled("receive_into()");
    for (bool waited = false;; waited = true) {
        if (s.closed) throw closed_resource_error("anyio: receive on a closed TLS stream");
        std::size_t got = 0;
        const bool ready = s.try_read(buffer.data(), buffer.size(), got);
        if (ready) {
            if (!waited) co_await detail::cancel_shielded_yield{};
            co_return got;
        }
        co_await s.need_input();
    }
}

task<std::string> tls_stream::receive(std::size_t max_bytes) {
    if (max_bytes == 0) throw std::invalid_argument("anyio: receive needs max_bytes > 0");
    detail::tls_state& s = state("receive");
    const busy_guard busy(s.receiving, "anyio: another task is already receiving on this stream");
    detail::throw_if_cancelled("receive()");
    for (bool waited = false;; waited = true) {
        if (s.closed) throw closed_resource_error("anyio: receive on a closed TLS stream");
        std::string bytes;
        std::size_t got = 0;
        bool ready = false;
        if (max_bytes <= scratch_size) {
            char* const scratch = receive_scratch();
            ready = s.try_read(scratch, max_bytes, got);
            if (ready) bytes.assign(scratch, got);
        } else {
            bytes.resize(max_bytes);
            ready = s.try_read(bytes.data(), max_bytes, got);
            bytes.resize(got);
        }
        if (ready) {
            if (!waited) co_await detail::cancel_shielded_yield{};
            co_return bytes;
        }
        co_await s.need_input();
    }
}

task<> tls_stream::send(std::string_view bytes) {
    detail::tls_state& s = state("send");
    const busy_guard busy(s.sending, "anyio: another task is already sending on this stream");
    detail::throw_if_cancelled("send()");
    if (s.closed || s.eof_sent) {
        throw closed_resource_error(s.closed ? "anyio: send on a closed TLS stream"
                                             : "anyio: send after send_eof on a TLS stream");
    }
    if (bytes.empty()) {
        co_await detail::cancel_shielded_yield{};
        co_return;
    }
    while (!bytes.empty()) {
        // aclose() from another task between two chunks.
        if (s.closed) throw closed_resource_error("anyio: send on a closed TLS stream");
        const std::size_t chunk = std::min(bytes.size(), write_chunk);
        std::size_t written = 0;
        ERR_clear_error();
        const int rc = SSL_write_ex(s.ssl, bytes.data(), chunk, &written);
        if (rc != 1) s.throw_failure("send", SSL_get_error(s.ssl, rc));
        bytes.remove_prefix(written);
        // The transport's send is the checkpoint.
        co_await s.flush();
    }
}

task<> tls_stream::send_eof() {
    detail::tls_state& s = state("send_eof");
    detail::throw_if_cancelled("send_eof()");
    if (s.closed) throw closed_resource_error("anyio: send_eof on a closed TLS stream");
    if (s.eof_sent) {
        co_await detail::cancel_shielded_yield{};
        co_return;
    }
    if (SSL_version(s.ssl) != TLS1_3_VERSION) {
        throw std::logic_error(std::string("anyio: send_eof on a TLS stream needs TLS 1.3 (this "
                                           "session uses ") +
                               SSL_get_version(s.ssl) +
                               ", whose peers answer close_notify by closing)");
    }
    const busy_guard busy(s.sending, "anyio: send_eof while a send is running");
    co_await s.shutdown(false);
}

task<> tls_stream::aclose() {
    if (!state_ || state_->closed) {
        co_await checkpoint();
        co_return;
    }
    detail::tls_state& s = *state_;
    s.closed = true;
    std::exception_ptr failure;
    if (s.standard_compatible && !s.send_broken) {
        try {
            // With another task receiving, the peer's close_notify is not waited for: that
            // task owns the input, and closing the transport wakes it.
            co_await s.shutdown(!s.receiving);
        } catch (...) {
            failure = std::current_exception();
        }
    }
    if (failure) {
        co_await s.close_transport_forcefully();
        std::rethrow_exception(failure);
    }
    co_await s.transport->aclose();
}

task<tls_unwrapped> tls_stream::unwrap() {
    detail::tls_state& s = state("unwrap");
    if (s.closed) throw closed_resource_error("anyio: unwrap on a closed TLS stream");
    if (s.receiving || s.sending) {
        throw busy_resource_error("anyio: unwrap while another task receives or sends");
    }
    detail::throw_if_cancelled("unwrap()");
    s.closed = true;
    std::exception_ptr failure;
    try {
        co_await s.shutdown(true);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        state_.reset();  // no other task uses it: destroying the transport closes it
        std::rethrow_exception(failure);
    }
    tls_unwrapped result{std::move(s.transport), s.take_unread()};
    state_.reset();
    co_return result;
}

bool tls_stream::server_side() const {
    return state("server_side").server_side;
}

bool tls_stream::standard_compatible() const {
    return state("standard_compatible").standard_compatible;
}

std::string tls_stream::alpn_protocol() const {
    const unsigned char* data = nullptr;
    unsigned int size = 0;
    SSL_get0_alpn_selected(state("alpn_protocol").ssl, &data, &size);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), size);
}

std::string tls_stream::server_hostname() const {
    const char* name = SSL_get_servername(state("server_hostname").ssl, TLSEXT_NAMETYPE_host_name);
    return name == nullptr ? std::string() : std::string(name);
}

std::string tls_stream::tls_version() const {
    return SSL_get_version(state("tls_version").ssl);
}

std::string tls_stream::cipher() const {
    const char* name = SSL_get_cipher_name(state("cipher").ssl);
    return name == nullptr ? std::string() : std::string(name);
}

std::string tls_stream::peer_certificate_subject() const {
    const X509* cert = SSL_get0_peer_certificate(state("peer_certificate_subject").ssl);
    return cert == nullptr ? std::string() : name_text(X509_get_subject_name(cert));
}

std::string tls_stream::peer_certificate_issuer() const {
    const X509* cert = SSL_get0_peer_certificate(state("peer_certificate_issuer").ssl);
    return cert == nullptr ? std::string() : name_text(X509_get_issuer_name(cert));
}

std::string tls_stream::peer_certificate_der() const {
    const X509* cert = SSL_get0_peer_certificate(state("peer_certificate_der").ssl);
    if (cert == nullptr) return {};
    const int size = i2d_X509(cert, nullptr);
    if (size <= 0) return {};
    std::string der(static_cast<std::size_t>(size), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &out);
    return der;
}

abc::byte_stream& tls_stream::transport_stream() const {
    return *state("transport_stream").transport;
}

ssl_st* tls_stream::native_handle() const noexcept {
    return state_ ? state_->ssl : nullptr;
}

}  // namespace anyio
