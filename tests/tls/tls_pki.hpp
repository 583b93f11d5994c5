#pragma once
// Test support for TLS: a small PKI made at run time with OpenSSL's API, as PEM files in a
// temporary directory removed at the end. Nothing is checked in; every run has fresh keys.
//
//   ca.pem                  the test CA (self-signed, CA:TRUE)
//   server.pem/.key         CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1
//   server_chain.pem        server.pem then ca.pem
//   expired.pem/.key        as server.pem, but valid from two days ago until yesterday
//   wrong_host.pem/.key     for example.invalid only
//   client.pem/.key         CN=anyio test client, for mutual TLS
//   other_ca.pem            a CA nobody trusts
//   other_server.pem/.key   localhost again, issued by other_ca
//   other_chain.pem         other_server.pem then other_ca.pem

#include "support/temp_dir.hpp"

#include <string>

namespace anyio_test {

class test_pki {
public:
    test_pki();
    [[nodiscard]] std::string file(const std::string& name) const { return dir_.file(name); }

private:
    temp_dir dir_;
};

}  // namespace anyio_test
