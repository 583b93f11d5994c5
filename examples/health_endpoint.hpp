#pragma once
// A health port for probes (Kubernetes' readinessProbe and livenessProbe, a load
// balancer's health check): plain HTTP/1.1, one request per connection.
//
//   GET /readyz  200 "ready" while the service serves (also during a reload), 503 with
//                "starting" or "stopping" otherwise: the moment SIGTERM arrives, the
//                probe fails, while open connections are still being served.
//   GET /livez   200 "alive" as long as the event loop answers at all.
//
// Anything else gets 404, 405 (not GET) or 400 (not HTTP, or a request head over 8 KiB);
// a client that sends nothing for 10 s is dropped, so probes cannot pile up.

#include <anyio/anyio.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace health {

inline std::string response(int status, std::string_view reason, std::string_view body) {
    std::string text = "HTTP/1.1 " + std::to_string(status) + " ";
    text += reason;
    text += "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size() + 1) +
            "\r\nConnection: close\r\n\r\n";
    text += body;
    text += '\n';
    return text;
}

// The reply to one request head (everything up to the blank line).
inline std::string answer(std::string_view head, const anyio::service& service) {
    const std::string_view line = head.substr(0, head.find_first_of("\r\n"));
    const std::size_t first_space = line.find(' ');
    const std::size_t second_space = line.find(' ', first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos ||
        line.substr(second_space + 1).rfind("HTTP/1.", 0) != 0) {
        return response(400, "Bad Request", "bad request");
    }
    const std::string_view method = line.substr(0, first_space);
    const std::string_view path = line.substr(first_space + 1, second_space - first_space - 1);
    if (path != "/readyz" && path != "/livez") return response(404, "Not Found", "not found");
    if (method != "GET") return response(405, "Method Not Allowed", "GET only");
    if (path == "/livez") return response(200, "OK", "alive");
    if (service.is_ready()) return response(200, "OK", "ready");
    return response(503, "Service Unavailable", service.is_stopping() ? "stopping" : "starting");
}

// Reads one request head; empty when the client sent none in time or hung up. A head
// longer than `max_head` comes back as it is, too long, for a 400.
inline anyio::task<std::string> read_head(anyio::socket_stream& client, std::size_t max_head) {
    std::string head;
    bool answerable = false;
    auto read = [&]() -> anyio::task<> {
        while (head.size() <= max_head) {
            std::string received;
            try {
                received = co_await client.receive();
            } catch (const anyio::end_of_stream&) {
                co_return;
            }
            head += received;
            if (head.find("\r\n\r\n") != std::string::npos ||
                head.find("\n\n") != std::string::npos) {
                answerable = true;
                co_return;
            }
        }
        answerable = true;
    };
    co_await anyio::move_on_after(std::chrono::seconds(10), read);
    if (!answerable) head.clear();
    co_return head;
}

// One probe connection. Its errors (a prober that resets) end this connection only.
inline anyio::task<> serve_probe(anyio::socket_stream client, const anyio::service& service) {
    constexpr std::size_t max_head = 8192;
    try {
        const std::string head = co_await read_head(client, max_head);
        if (head.empty()) co_return;
        const std::string reply = head.size() > max_head
                                      ? response(400, "Bad Request", "request head too long")
                                      : answer(head, service);
        co_await client.send(reply);
        co_await client.send_eof();
    } catch (const std::exception&) {
        // The prober went away first: nothing to tell it.
    }
}

}  // namespace health
