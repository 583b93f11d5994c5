#include <anyio/cancel_scope.hpp>
#include <anyio/tls_listener.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace anyio {

namespace detail {

void tls_listener_config::report(const socket_address& peer, std::exception_ptr error) const {
    if (options.on_handshake_error) {
        options.on_handshake_error(peer, error);
        return;
    }
    std::string what = "unknown error";
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        what = e.what();
    }
    std::fprintf(stderr, "anyio: TLS handshake with %s failed: %s\n", peer.to_string().c_str(),
                 what.c_str());
}

task<tls_stream> tls_server_handshake(socket_stream stream,
                                      std::shared_ptr<const tls_listener_config> config) {
    tls_options options;
    options.server_side = true;
    options.context = config->context;
    options.standard_compatible = config->options.standard_compatible;
    std::unique_ptr<abc::byte_stream> transport =
        std::make_unique<socket_stream>(std::move(stream));
    tls_stream result;
    cancel_scope scope(deadline_after(config->options.handshake_timeout));
    const auto body = [&result, &transport, &options]() -> task<> {
        result = co_await tls_stream::wrap(std::move(transport), options);
    };
    co_await scope.run(body);
    if (scope.cancelled_caught()) throw timeout_error();
    co_return result;
}

}  // namespace detail

tls_listener::tls_listener(socket_listener listener, tls_context context,
                           tls_listener_options options)
    : listener_(std::move(listener)) {
    if (context.empty() || context.side() != tls_side::server) {
        throw std::invalid_argument(
            "anyio: tls_listener needs a server context (tls_context::server() with "
            "load_cert_chain)");
    }
    config_ = std::make_shared<const detail::tls_listener_config>(
        detail::tls_listener_config{std::move(context), std::move(options)});
}

task<tls_stream> tls_listener::accept() {
    socket_stream stream = co_await listener_.accept();
    co_return co_await detail::tls_server_handshake(std::move(stream), config_);
}

}  // namespace anyio
