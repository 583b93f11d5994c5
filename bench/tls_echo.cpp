// TLS echo over loopback, one connection, client and server on one thread: anyio's
// tls_stream against Boost.Asio's ssl::stream (when Boost was found), both on OpenSSL 3
// with the same certificate (made here, P-256) and TLS 1.3.
//
//     tls_echo [runs]
//
// Two workloads, each run `runs` times (default 7) per library; prints the medians:
//   bulk:  64 KiB messages sent and echoed back, 1024 of them (64 MiB each way): MiB/s
//   small: 1 KiB round trips, 20000 of them: microseconds per round trip
// Not a test: nothing is asserted.

#include <anyio/anyio.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#ifdef ANYIO_BENCH_WITH_ASIO
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#endif

namespace {

constexpr std::size_t bulk_size = 64 * 1024;
constexpr int bulk_count = 1024;
constexpr std::size_t small_size = 1024;
constexpr int small_count = 20000;

using bench_clock = std::chrono::steady_clock;

struct pem_files {
    std::string dir;
    std::string cert;
    std::string key;
};

// A self-signed certificate for localhost in a temporary directory.
pem_files make_certificate() {
    char dir_template[] = "/tmp/anyio-tls-bench-XXXXXX";
    pem_files files{::mkdtemp(dir_template), "", ""};
    files.cert = files.dir + "/cert.pem";
    files.key = files.dir + "/key.pem";
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    FILE* f = std::fopen(files.cert.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(files.key.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
    return files;
}

struct result {
    double bulk_mib_per_s = 0;
    double small_us_per_round_trip = 0;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// ---- anyio ----

anyio::task<> anyio_echo(anyio::tls_stream& server) {
    std::vector<char> buffer(bulk_size);
    try {
        for (;;) {
            const std::size_t n = co_await server.receive_into(buffer);
            co_await server.send(std::string_view(buffer.data(), n));
        }
    } catch (const anyio::end_of_stream&) {
    }
}

anyio::task<> anyio_receive_exactly(anyio::tls_stream& stream, std::vector<char>& buffer,
                                    std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        got += co_await stream.receive_into(std::span<char>(buffer.data() + got, size - got));
    }
}

anyio::task<result> anyio_run(const pem_files& files) {
    anyio::tls_context server_context = anyio::tls_context::server();
    server_context.load_cert_chain(files.cert, files.key);
    anyio::tls_context client_context = anyio::tls_context::client();
    client_context.load_verify_locations(files.cert);
    anyio::tcp_listener listener = co_await anyio::create_tcp_listener("127.0.0.1", 0);
    anyio::tls_options client_options;
    client_options.context = client_context;
    client_options.hostname = "localhost";
    anyio::tls_options server_options;
    server_options.context = server_context;
    result r;
    const auto body = [&](anyio::task_group& group) -> anyio::task<> {
        const auto server = [&]() -> anyio::task<> {
            anyio::socket_stream tcp = co_await listener.accept();
            anyio::tls_stream tls =
                co_await anyio::tls_stream::wrap(std::move(tcp), server_options);
            co_await anyio_echo(tls);
            co_await tls.aclose();
        };
        group.start_soon(server);
        anyio::socket_stream tcp = co_await anyio::connect_tcp("127.0.0.1", listener.port());
        anyio::tls_stream tls = co_await anyio::tls_stream::wrap(std::move(tcp), client_options);
        const std::string bulk(bulk_size, 'b');
        std::vector<char> buffer(bulk_size);
        auto start = bench_clock::now();
        for (int i = 0; i < bulk_count; ++i) {
            co_await tls.send(bulk);
            co_await anyio_receive_exactly(tls, buffer, bulk_size);
        }
        double seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
        r.bulk_mib_per_s = bulk_count * (bulk_size / 1048576.0) / seconds;
        const std::string small(small_size, 's');
        start = bench_clock::now();
        for (int i = 0; i < small_count; ++i) {
            co_await tls.send(small);
            co_await anyio_receive_exactly(tls, buffer, small_size);
        }
        seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
        r.small_us_per_round_trip = seconds * 1e6 / small_count;
        co_await tls.aclose();
    };
    co_await anyio::with_task_group(body);
    co_return r;
}

// ---- Boost.Asio ----

#ifdef ANYIO_BENCH_WITH_ASIO
namespace asio = boost::asio;
using asio::ip::tcp;
using tls_socket = asio::ssl::stream<tcp::socket>;

asio::awaitable<void> asio_server(tcp::acceptor& acceptor, asio::ssl::context& context) {
    tls_socket stream(co_await acceptor.async_accept(asio::use_awaitable), context);
    stream.lowest_layer().set_option(tcp::no_delay(true));
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    std::vector<char> buffer(bulk_size);
    boost::system::error_code error;
    for (;;) {
        const std::size_t n = co_await stream.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, error));
        if (error) break;
        co_await asio::async_write(stream, asio::buffer(buffer.data(), n), asio::use_awaitable);
    }
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, error));
}

asio::awaitable<void> asio_client(tcp::endpoint endpoint, asio::ssl::context& context, result& r) {
    tls_socket stream(co_await asio::this_coro::executor, context);
    co_await stream.lowest_layer().async_connect(endpoint, asio::use_awaitable);
    stream.lowest_layer().set_option(tcp::no_delay(true));
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    stream.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    const std::string bulk(bulk_size, 'b');
    std::vector<char> buffer(bulk_size);
    auto start = bench_clock::now();
    for (int i = 0; i < bulk_count; ++i) {
        co_await asio::async_write(stream, asio::buffer(bulk), asio::use_awaitable);
        co_await asio::async_read(stream, asio::buffer(buffer.data(), bulk_size),
                                  asio::use_awaitable);
    }
    double seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
    r.bulk_mib_per_s = bulk_count * (bulk_size / 1048576.0) / seconds;
    const std::string small(small_size, 's');
    start = bench_clock::now();
    for (int i = 0; i < small_count; ++i) {
        co_await asio::async_write(stream, asio::buffer(small), asio::use_awaitable);
        co_await asio::async_read(stream, asio::buffer(buffer.data(), small_size),
                                  asio::use_awaitable);
    }
    seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
    r.small_us_per_round_trip = seconds * 1e6 / small_count;
    boost::system::error_code error;
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, error));
}

result asio_run(const pem_files& files) {
    asio::io_context io(1);
    asio::ssl::context server_context(asio::ssl::context::tls_server);
    server_context.set_options(asio::ssl::context::default_workarounds);
    SSL_CTX_set_min_proto_version(server_context.native_handle(), TLS1_2_VERSION);
    server_context.use_certificate_chain_file(files.cert);
    server_context.use_private_key_file(files.key, asio::ssl::context::pem);
    asio::ssl::context client_context(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(client_context.native_handle(), TLS1_2_VERSION);
    client_context.load_verify_file(files.cert);
    client_context.set_verify_mode(asio::ssl::verify_peer);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    result r;
    asio::co_spawn(io, asio_server(acceptor, server_context), asio::detached);
    asio::co_spawn(io, asio_client(acceptor.local_endpoint(), client_context, r), asio::detached);
    io.run();
    return r;
}
#endif

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
    const pem_files files = make_certificate();
    std::vector<double> anyio_bulk, anyio_small;
    std::vector<double> asio_bulk, asio_small;
    for (int i = 0; i < runs; ++i) {
        const result a =
            anyio::run([&]() -> anyio::task<result> { co_return co_await anyio_run(files); });
        anyio_bulk.push_back(a.bulk_mib_per_s);
        anyio_small.push_back(a.small_us_per_round_trip);
#ifdef ANYIO_BENCH_WITH_ASIO
        const result b = asio_run(files);
        asio_bulk.push_back(b.bulk_mib_per_s);
        asio_small.push_back(b.small_us_per_round_trip);
#endif
    }
    std::printf("TLS echo, one connection over loopback, %d runs (medians)\n", runs);
    std::printf("anyio tls_stream:   bulk 64 KiB: %8.1f MiB/s   small 1 KiB: %7.2f us/round trip\n",
                median(anyio_bulk), median(anyio_small));
#ifdef ANYIO_BENCH_WITH_ASIO
    std::printf("asio ssl::stream:   bulk 64 KiB: %8.1f MiB/s   small 1 KiB: %7.2f us/round trip\n",
                median(asio_bulk), median(asio_small));
    std::printf("anyio / asio:       bulk throughput x%.2f   small round-trip time x%.2f\n",
                median(anyio_bulk) / median(asio_bulk), median(anyio_small) / median(asio_small));
#else
    std::printf("(Boost.Asio not found at build time: no comparison)\n");
#endif
    std::string cleanup = files.dir;
    ::unlink(files.cert.c_str());
    ::unlink(files.key.c_str());
    ::rmdir(cleanup.c_str());
    return 0;
}
