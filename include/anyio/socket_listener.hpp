#pragma once
// Listening sockets (AnyIO's SocketListener): accept connections one at a time, or serve
// each one with a handler running as a child task.
//
//     auto listener = co_await anyio::create_tcp_listener("127.0.0.1", 8000);
//     co_await listener.serve([](anyio::socket_stream client) -> anyio::task<> {
//         co_await client.send("hello\n");
//     });
//
// tcp_listener (create_tcp_listener) and unix_listener (create_unix_listener) share this
// interface. Loop thread only; a listener belongs to the loop of the task that first waits
// on it. It must stay alive (and not be moved) while accept() or serve() runs on it.

#include <anyio/detail/awaited_callable.hpp>
#include <anyio/socket_address.hpp>
#include <anyio/socket_stream.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace anyio {

namespace detail {
struct listener_state;
struct socket_access;
}  // namespace detail

// What serve() accepts: a callable taking the accepted socket_stream (by value, by rvalue
// reference or by lvalue reference) and returning an anyio::task.
template <class F>
concept connection_handler = (std::invocable<F&, socket_stream&&> &&
                              detail::is_task_v<std::invoke_result_t<F&, socket_stream&&>>) ||
                             (std::invocable<F&, socket_stream&> &&
                              detail::is_task_v<std::invoke_result_t<F&, socket_stream&>>);

namespace detail {
// What one connection's child task calls: the shared handler, with the stream stored among
// the child's arguments (so a handler taking it by reference keeps a valid stream for as
// long as it runs). Not a coroutine itself: the child's body is the handler's own task, so
// a connection costs no wrapper frame. start_soon passes the stored stream as an rvalue; a
// handler taking socket_stream& gets it as an lvalue: the stream is the child's own.
template <class F>
struct connection_call {
    std::shared_ptr<F> handler;
    auto operator()(socket_stream&& stream) const {
        if constexpr (std::is_invocable_v<F&, socket_stream&&>) {
            return std::invoke(*handler, std::move(stream));
        } else {
            return std::invoke(*handler, stream);
        }
    }
};

// Per-connection isolation: the handler's std::exception goes to the hook, with the
// peer's address, instead of failing the group. A wrapper coroutine, so it costs a frame
// per connection that plain serve() does not pay.
template <class F, class OnError>
struct isolated_connection_call {
    std::shared_ptr<F> handler;
    std::shared_ptr<OnError> on_error;
    task<> operator()(socket_stream&& stream) const {
        const socket_address peer = stream.remote_address();
        std::exception_ptr failure;
        try {
            // Named first: g++ 12 destroys a temporary with a destructor twice when it is
            // created inside the co_await expression.
            const connection_call<F> call{handler};
            auto body = call(std::move(stream));
            co_await std::move(body);
        } catch (const std::exception&) {
            failure = std::current_exception();
        }
        if (failure) (*on_error)(peer, failure);
    }
};
}  // namespace detail

// What serve(handler, on_error) calls when one connection's handler throws a
// std::exception: the peer's address and the exception.
template <class H>
concept connection_error_hook = std::invocable<H&, const socket_address&, std::exception_ptr>;

class socket_listener {
public:
    // A closed listener.
    socket_listener() noexcept;
    socket_listener(socket_listener&&) noexcept;
    socket_listener& operator=(socket_listener&&) noexcept;
    socket_listener(const socket_listener&) = delete;
    socket_listener& operator=(const socket_listener&) = delete;
    ~socket_listener();  // closes

    // The next incoming connection. A checkpoint. Cancellation loses no connection: one is
    // taken from the kernel only in the step that returns it. A second concurrent accept()
    // throws busy_resource_error; accept() on a closed listener, or one closed while it
    // waits, throws closed_resource_error. When the process (or system) is out of file
    // descriptors, accept() does not fail: it retries after 100 ms, doubling up to 1 s, and
    // the connection waits in the kernel's backlog meanwhile.
    [[nodiscard]] task<socket_stream> accept();

    // Accepts connections until the listener is closed, running handler(stream) for each as
    // a child task of `group`; returns once closed (handlers may still run in `group`). A
    // handler's exception fails the group (cancelling the other handlers and serve itself),
    // as in AnyIO. Cancellation: as accept().
    // (The handler and hook are decay-copied; they live as long as the last handler runs.)
    template <class F>
    requires connection_handler<std::decay_t<F>>
    [[nodiscard]] task<> serve(F&& handler, task_group& group) {
        detail::check_awaited_callable<F>();
        return serve_in(std::decay_t<F>(std::forward<F>(handler)), group);
    }
    // Same, with a task group of its own: returns once the listener is closed and every
    // handler finished. Closing the listener is how to stop accepting while letting the
    // open connections finish; cancelling serve cancels the handlers too.
    template <class F>
    requires connection_handler<std::decay_t<F>>
    [[nodiscard]] task<> serve(F&& handler) {
        detail::check_awaited_callable<F>();
        return serve_own_group(std::decay_t<F>(std::forward<F>(handler)));
    }
    // Same, with each connection isolated: a handler's std::exception ends that connection
    // only (its stream closes) and goes to on_error(peer_address, exception) instead of
    // failing the group; the other connections and the accepting go on. Cancellation
    // still propagates. An exception thrown by on_error itself fails the group.
    template <class F, class H>
    requires connection_handler<std::decay_t<F>> && connection_error_hook<std::decay_t<H>>
    [[nodiscard]] task<> serve(F&& handler, H&& on_error) {
        detail::check_awaited_callable<F>();
        detail::check_awaited_callable<H>();
        return serve_isolated(std::decay_t<F>(std::forward<F>(handler)),
                              std::decay_t<H>(std::forward<H>(on_error)));
    }

    // Stops listening: new connections are refused, a task blocked in accept() wakes with
    // closed_resource_error, a UNIX listener removes its socket file. Idempotent. close()
    // is the same without the checkpoint.
    [[nodiscard]] task<> aclose();
    void close() noexcept;

    [[nodiscard]] bool is_open() const noexcept;
    // Where it listens (with the real port when created with port 0). Stays after close.
    [[nodiscard]] const socket_address& local_address() const noexcept { return local_; }
    // The listening descriptor (-1 once closed), for setsockopt and the like; still owned.
    [[nodiscard]] int native_handle() const noexcept;

protected:
    // Takes ownership of a listening socket; `owned_path`, if not empty, is the UNIX socket
    // file to remove on close (only if it is still the file this socket was bound to).
    socket_listener(int fd, const socket_address& local, const std::string& owned_path);

private:
    template <connection_handler F>
    task<> serve_in(F handler, task_group& group);
    template <connection_handler F>
    task<> serve_own_group(F handler);
    template <connection_handler F, connection_error_hook H>
    task<> serve_isolated(F handler, H on_error);

    std::unique_ptr<detail::listener_state> state_;
    socket_address local_;
};

// A listening TCP socket (create_tcp_listener).
class tcp_listener final : public socket_listener {
public:
    tcp_listener() noexcept = default;
    // The port it listens on: the one the kernel chose when created with port 0.
    [[nodiscard]] std::uint16_t port() const noexcept { return local_address().port(); }

private:
    friend struct detail::socket_access;
    using socket_listener::socket_listener;
};

// A listening UNIX stream socket (create_unix_listener).
class unix_listener final : public socket_listener {
public:
    unix_listener() noexcept = default;
    // The socket file's path ("@name" for an abstract socket).
    [[nodiscard]] std::string path() const { return local_address().host(); }

private:
    friend struct detail::socket_access;
    using socket_listener::socket_listener;
};

template <connection_handler F>
task<> socket_listener::serve_in(F handler, task_group& group) {
    // One handler shared by every connection (and alive as long as the last one runs, also
    // when serve has returned and `group` outlives it).
    auto shared = std::make_shared<F>(std::move(handler));
    for (;;) {
        socket_stream stream;
        try {
            stream = co_await accept();
        } catch (const closed_resource_error&) {
            co_return;
        }
        group.start_soon(detail::connection_call<F>{shared}, std::move(stream));
    }
}

template <connection_handler F, connection_error_hook H>
task<> socket_listener::serve_isolated(F handler, H on_error) {
    auto isolated = detail::isolated_connection_call<F, H>{
        std::make_shared<F>(std::move(handler)), std::make_shared<H>(std::move(on_error))};
    co_await serve_own_group(std::move(isolated));
}

template <connection_handler F>
task<> socket_listener::serve_own_group(F handler) {
    co_await with_task_group([this, &handler](task_group& group) -> task<> {
        co_await serve_in(std::move(handler), group);
    });
}

}  // namespace anyio
