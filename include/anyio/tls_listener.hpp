#pragma once
// anyio::tls_listener: a socket listener whose connections are TLS sessions (AnyIO's
// TLSListener). Each accepted connection does its handshake in its own child task, under
// handshake_timeout; serve's handler gets the handshaken tls_stream. A client whose
// handshake fails or times out is reported to on_handshake_error and dropped (its socket
// closed): it never stops the listener nor fails the task group.
//
//     anyio::tls_context context = anyio::tls_context::server();
//     context.load_cert_chain("server.pem", "server.key");
//     anyio::tcp_listener tcp = co_await anyio::create_tcp_listener("", 8443);
//     anyio::tls_listener listener(std::move(tcp), context);
//     co_await listener.serve([](anyio::tls_stream client) -> anyio::task<> {
//         co_await client.send("hello\n");
//         co_await client.aclose();
//     });
//
// Loop thread only; it must stay alive (and not be moved) while accept() or serve() runs.

#include <anyio/detail/awaited_callable.hpp>
#include <anyio/socket_address.hpp>
#include <anyio/socket_listener.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>
#include <anyio/tls.hpp>

#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace anyio {

struct tls_listener_options {
    // AnyIO's standard_compatible for every connection (see tls_options).
    bool standard_compatible = true;
    // How long a client may take for its handshake (AnyIO's 30 s). Past it the connection
    // is dropped and on_handshake_error gets a timeout_error.
    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);
    // Called with the client's address and the error when a handshake fails (a
    // std::exception: tls_error, broken_resource_error, timeout_error...). Empty: one line
    // on stderr, "anyio: TLS handshake with ADDRESS failed: WHAT" (AnyIO logs it).
    std::function<void(const socket_address&, std::exception_ptr)> on_handshake_error;
};

// What serve() accepts: a callable taking the tls_stream (by value, by rvalue reference or
// by lvalue reference) and returning an anyio::task.
template <class F>
concept tls_connection_handler = (std::invocable<F&, tls_stream&&> &&
                                  detail::is_task_v<std::invoke_result_t<F&, tls_stream&&>>) ||
                                 (std::invocable<F&, tls_stream&> &&
                                  detail::is_task_v<std::invoke_result_t<F&, tls_stream&>>);

namespace detail {

struct tls_listener_config {
    tls_context context;
    tls_listener_options options;
    void report(const socket_address& peer, std::exception_ptr error) const;
};

// The server side of one connection's handshake, under the listener's timeout.
task<tls_stream> tls_server_handshake(socket_stream stream,
                                      std::shared_ptr<const tls_listener_config> config);

// One connection's child task: the handshake, then the user's handler. A failed handshake
// goes to the hook; the handler's own failure fails the group, as in socket_listener.
template <class F>
struct tls_connection_call {
    std::shared_ptr<F> handler;
    std::shared_ptr<const tls_listener_config> config;
    task<> operator()(socket_stream&& stream) const {
        const socket_address peer = stream.remote_address();
        tls_stream tls;
        std::exception_ptr failure;
        try {
            tls = co_await tls_server_handshake(std::move(stream), config);
        } catch (const std::exception&) {
            failure = std::current_exception();
        }
        if (failure) {
            config->report(peer, failure);
            co_return;
        }
        if constexpr (std::is_invocable_v<F&, tls_stream&&>) {
            auto body = std::invoke(*handler, std::move(tls));
            co_await std::move(body);
        } else {
            auto body = std::invoke(*handler, tls);
            co_await std::move(body);
        }
    }
};

}  // namespace detail

class tls_listener {
public:
    // `context` must be a server's, with its certificate loaded (std::invalid_argument
    // otherwise). Takes the listener (a tcp_listener or unix_listener moved in).
    tls_listener(socket_listener listener, tls_context context, tls_listener_options options = {});
    tls_listener(tls_listener&&) noexcept = default;
    tls_listener& operator=(tls_listener&&) noexcept = default;
    tls_listener(const tls_listener&) = delete;
    tls_listener& operator=(const tls_listener&) = delete;
    ~tls_listener() = default;

    // The next connection, handshaken. A checkpoint. A failed handshake throws (and the
    // connection is closed); the listener goes on. As socket_listener::accept otherwise.
    [[nodiscard]] task<tls_stream> accept();

    // Accepts until the listener is closed; handler(tls_stream) runs as a child task of
    // `group` (or of serve's own group, which it then waits for) once the handshake
    // succeeded. As socket_listener::serve otherwise: a handler's exception fails the group.
    template <class F>
    requires tls_connection_handler<std::decay_t<F>>
    [[nodiscard]] task<> serve(F&& handler, task_group& group) {
        detail::check_awaited_callable<F>();
        return serve_call(make_call(std::forward<F>(handler)), &group);
    }
    template <class F>
    requires tls_connection_handler<std::decay_t<F>>
    [[nodiscard]] task<> serve(F&& handler) {
        detail::check_awaited_callable<F>();
        return serve_call(make_call(std::forward<F>(handler)), nullptr);
    }

    // Stops listening (socket_listener::aclose). Idempotent.
    [[nodiscard]] task<> aclose() { return listener_.aclose(); }
    void close() noexcept { listener_.close(); }

    [[nodiscard]] socket_listener& listener() noexcept { return listener_; }
    [[nodiscard]] const socket_address& local_address() const noexcept {
        return listener_.local_address();
    }
    [[nodiscard]] const tls_context& context() const noexcept { return config_->context; }

private:
    template <class F>
    detail::tls_connection_call<std::decay_t<F>> make_call(F&& handler) const {
        return {std::make_shared<std::decay_t<F>>(std::forward<F>(handler)), config_};
    }
    template <class C>
    task<> serve_call(C call, task_group* group) {
        if (group != nullptr) {
            co_await listener_.serve(call, *group);
        } else {
            co_await listener_.serve(call);
        }
    }

    socket_listener listener_;
    std::shared_ptr<const detail::tls_listener_config> config_;
};

}  // namespace anyio
