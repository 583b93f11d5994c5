#include "tls/tls_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace anyio_test {

namespace {

struct key_free {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct cert_free {
    void operator()(X509* cert) const { X509_free(cert); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

key_ptr new_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

struct cert_spec {
    std::string common_name;
    std::string subject_alt_name;  // "" for none
    bool is_ca = false;
    bool client = false;
    long not_before = -3600;  // seconds from now
    long not_after = 86400;
};

// Signed by issuer (issuer_key); self-signed when issuer is null.
cert_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    static long serial = 1;
    cert_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
    if (spec.is_ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_ext_key_usage,
                      spec.client ? "clientAuth" : "serverAuth");
    }
    if (!spec.subject_alt_name.empty()) {
        add_extension(cert.get(), signer, NID_subject_alt_name, spec.subject_alt_name.c_str());
    }
    check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
          "X509_sign");
    return cert;
}

void write_pem(const std::string& path, X509* first, X509* second = nullptr) {
    FILE* f = std::fopen(path.c_str(), "w");
    check(f != nullptr, "fopen");
    check(PEM_write_X509(f, first) == 1, "PEM_write_X509");
    if (second != nullptr) check(PEM_write_X509(f, second) == 1, "PEM_write_X509");
    std::fclose(f);
}

void write_key(const std::string& path, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    check(f != nullptr, "fopen");
    check(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_PrivateKey");
    std::fclose(f);
}

}  // namespace

test_pki::test_pki() : dir_("anyio-tls") {
    const key_ptr ca_key = new_key();
    const cert_ptr ca = make_cert({"anyio test CA", "", true}, ca_key.get(), nullptr, nullptr);
    write_pem(file("ca.pem"), ca.get());

    const key_ptr server_key = new_key();
    const char* localhost = "DNS:localhost,IP:127.0.0.1";
    const cert_ptr server =
        make_cert({"localhost", localhost}, server_key.get(), ca.get(), ca_key.get());
    write_pem(file("server.pem"), server.get());
    write_pem(file("server_chain.pem"), server.get(), ca.get());
    write_key(file("server.key"), server_key.get());

    const cert_ptr expired = make_cert({"localhost", localhost, false, false, -2 * 86400, -86400},
                                       server_key.get(), ca.get(), ca_key.get());
    write_pem(file("expired.pem"), expired.get());
    write_key(file("expired.key"), server_key.get());

    const cert_ptr wrong = make_cert({"example.invalid", "DNS:example.invalid"}, server_key.get(),
                                     ca.get(), ca_key.get());
    write_pem(file("wrong_host.pem"), wrong.get());
    write_key(file("wrong_host.key"), server_key.get());

    const key_ptr client_key = new_key();
    const cert_ptr client =
        make_cert({"anyio test client", "", false, true}, client_key.get(), ca.get(), ca_key.get());
    write_pem(file("client.pem"), client.get());
    write_key(file("client.key"), client_key.get());

    const key_ptr other_ca_key = new_key();
    const cert_ptr other_ca =
        make_cert({"anyio untrusted CA", "", true}, other_ca_key.get(), nullptr, nullptr);
    write_pem(file("other_ca.pem"), other_ca.get());
    const cert_ptr other_server =
        make_cert({"localhost", localhost}, server_key.get(), other_ca.get(), other_ca_key.get());
    write_pem(file("other_server.pem"), other_server.get());
    write_pem(file("other_chain.pem"), other_server.get(), other_ca.get());
    write_key(file("other_server.key"), server_key.get());
}

}  // namespace anyio_test
