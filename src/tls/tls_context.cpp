#include <anyio/tls.hpp>

#include "tls/openssl_errors.hpp"
#include "tls/tls_state.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

namespace anyio {

namespace {

using detail::tls_context_state;

[[noreturn]] void throw_context_error(const std::string& what) {
    std::string reason = detail::take_openssl_reason();
    if (reason.empty()) reason = "unknown OpenSSL error";
    throw tls_error("anyio: " + what + ": " + reason, 0, reason);
}

std::shared_ptr<tls_context_state> new_context(tls_side side) {
    auto state = std::make_shared<tls_context_state>();
    ERR_clear_error();
    state->ctx = SSL_CTX_new(TLS_method());
    if (state->ctx == nullptr) throw_context_error("SSL_CTX_new");
    state->side = side;
    SSL_CTX_set_min_proto_version(state->ctx, TLS1_2_VERSION);
    // A renegotiation would make a send wait for the peer's records, which the receiving
    // task may be reading; TLS 1.3 has none, and TLS 1.2 peers rarely ask.
    SSL_CTX_set_options(state->ctx, SSL_OP_NO_RENEGOTIATION);
    X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(state->ctx),
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return state;
}

void apply_verify(tls_context_state& state) {
    int mode = SSL_VERIFY_NONE;
    if (state.verify != tls_verify::none) mode = SSL_VERIFY_PEER;
    if (state.verify == tls_verify::required && state.side == tls_side::server) {
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(state.ctx, mode, nullptr);
}

// The server's ALPN choice: its own first protocol that the client offered; none in common
// means no ALPN at all (Python's behaviour), not a failed handshake.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    const auto* state = static_cast<const tls_context_state*>(arg);
    unsigned char* selected = nullptr;
    const auto* ours = reinterpret_cast<const unsigned char*>(state->alpn_wire.data());
    if (SSL_select_next_proto(&selected, outlen, ours,
                              static_cast<unsigned int>(state->alpn_wire.size()), in,
                              inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

int openssl_version(tls_version version) {
    return version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

}  // namespace

tls_context tls_context::client() {
    auto state = new_context(tls_side::client);
    if (SSL_CTX_set_default_verify_paths(state->ctx) != 1) {
        throw_context_error("loading the system's trust store");
    }
    state->verify = tls_verify::required;
    state->check_hostname = true;
    apply_verify(*state);
    return tls_context(std::move(state));
}

tls_context tls_context::server() {
    auto state = new_context(tls_side::server);
    state->verify = tls_verify::none;
    apply_verify(*state);
    return tls_context(std::move(state));
}

detail::tls_context_state& tls_context::state(const char* what) const {
    if (!state_) {
        throw std::invalid_argument(std::string("anyio: tls_context::") + what +
                                    " on an empty context (use tls_context::client() or "
                                    "tls_context::server())");
    }
    return *state_;
}

tls_context& tls_context::load_cert_chain(const std::string& certfile, const std::string& keyfile) {
    tls_context_state& s = state("load_cert_chain");
    const std::string& key = keyfile.empty() ? certfile : keyfile;
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(s.ctx, certfile.c_str()) != 1) {
        throw_context_error("loading the certificate chain " + certfile);
    }
    if (SSL_CTX_use_PrivateKey_file(s.ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw_context_error("loading the private key " + key);
    }
    if (SSL_CTX_check_private_key(s.ctx) != 1) {
        throw_context_error("the private key " + key + " and the certificate " + certfile);
    }
    return *this;
}

tls_context& tls_context::load_verify_locations(const std::string& cafile) {
    tls_context_state& s = state("load_verify_locations");
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(s.ctx, cafile.c_str(), nullptr) != 1) {
        throw_context_error("loading the CA certificates " + cafile);
    }
    return *this;
}

tls_context& tls_context::load_verify_data(std::string_view pem) {
    tls_context_state& s = state("load_verify_data");
    ERR_clear_error();
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) throw_context_error("load_verify_data");
    X509_STORE* store = SSL_CTX_get_cert_store(s.ctx);
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        const int ok = X509_STORE_add_cert(store, cert);
        X509_free(cert);
        if (ok != 1) {
            BIO_free(bio);
            throw_context_error("load_verify_data: adding a certificate");
        }
        ++added;
    }
    BIO_free(bio);
    ERR_clear_error();  // the end of the PEM text reads as an error
    if (added == 0) {
        throw tls_error("anyio: load_verify_data: no PEM certificate in the data", 0,
                        "no certificate");
    }
    return *this;
}

tls_context& tls_context::set_alpn_protocols(const std::vector<std::string>& protocols) {
    tls_context_state& s = state("set_alpn_protocols");
    std::string wire;
    for (const std::string& protocol : protocols) {
        if (protocol.empty() || protocol.size() > 255) {
            throw std::invalid_argument(
                "anyio: an ALPN protocol name must have 1 to 255 bytes: \"" + protocol + "\"");
        }
        wire += static_cast<char>(protocol.size());
        wire += protocol;
    }
    s.alpn_wire = wire;
    if (s.side == tls_side::client) {
        // SSL_CTX_set_alpn_protos returns 0 on success.
        if (SSL_CTX_set_alpn_protos(s.ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                    static_cast<unsigned int>(wire.size())) != 0) {
            throw_context_error("set_alpn_protocols");
        }
    } else {
        SSL_CTX_set_alpn_select_cb(s.ctx, wire.empty() ? nullptr : select_alpn, &s);
    }
    return *this;
}

tls_context& tls_context::set_verify_mode(tls_verify mode) {
    tls_context_state& s = state("set_verify_mode");
    if (mode == tls_verify::none && s.check_hostname) {
        throw std::invalid_argument(
            "anyio: set_verify_mode(none) while check_hostname is on: call "
            "set_check_hostname(false) first");
    }
    s.verify = mode;
    apply_verify(s);
    return *this;
}

tls_context& tls_context::set_check_hostname(bool check) {
    tls_context_state& s = state("set_check_hostname");
    s.check_hostname = check;
    if (check && s.verify == tls_verify::none) {
        s.verify = tls_verify::required;
        apply_verify(s);
    }
    return *this;
}

tls_context& tls_context::set_minimum_version(tls_version version) {
    SSL_CTX_set_min_proto_version(state("set_minimum_version").ctx, openssl_version(version));
    return *this;
}

tls_context& tls_context::set_maximum_version(tls_version version) {
    SSL_CTX_set_max_proto_version(state("set_maximum_version").ctx, openssl_version(version));
    return *this;
}

tls_side tls_context::side() const {
    return state("side").side;
}

tls_verify tls_context::verify_mode() const {
    return state("verify_mode").verify;
}

bool tls_context::check_hostname() const {
    return state("check_hostname").check_hostname;
}

ssl_ctx_st* tls_context::native_handle() const noexcept {
    return state_ ? state_->ctx : nullptr;
}

}  // namespace anyio
