// UDP and UNIX datagram sockets: an echo server on a bound UDP socket answering each
// sender, a connected client, a datagram too large to send, and a UNIX datagram exchange.
#include <anyio/anyio.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include <unistd.h>

// Answers every datagram with its bytes in capitals, to whoever sent it, until "stop".
anyio::task<> echo_server(anyio::udp_socket& server) {
    for (;;) {
        anyio::datagram request = co_await server.receive_from();
        if (request.data == "stop") co_return;
        std::string reply = request.data;
        for (char& c : reply)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        co_await server.send_to(reply, request.sender);
    }
}

anyio::task<> udp_demo() {
    anyio::udp_socket server = co_await anyio::create_udp_socket("127.0.0.1", 0);
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon([&]() -> anyio::task<> { co_await echo_server(server); });

        // A connected client talks to the server only.
        anyio::connected_udp_socket client =
            co_await anyio::create_connected_udp_socket("127.0.0.1", server.local_port());
        co_await client.send("hello");
        std::string reply = co_await client.receive();
        std::printf("reply: %s\n", reply.c_str());

        // A bound socket sends to any address and learns who answered.
        anyio::udp_socket other = co_await anyio::create_udp_socket("127.0.0.1", 0);
        co_await other.send_to("who are you?", "127.0.0.1", server.local_port());
        anyio::datagram answer = co_await other.receive_from();
        const bool from_server = answer.sender == server.local_address();
        std::printf("%s from the server: %s\n", answer.data.c_str(), from_server ? "yes" : "no");

        // UDP carries at most 65,507 bytes over IPv4: a larger datagram is refused whole.
        try {
            co_await client.send(std::string(100000, 'x'));
        } catch (const std::system_error& e) {
            std::printf("%s (EMSGSIZE: %s)\n", e.what(),
                        e.code().value() == EMSGSIZE ? "yes" : "no");
        }
        co_await client.send("stop");
    });
}

// UNIX datagram sockets are addressed by path; an abstract name ('@') leaves no file.
anyio::task<> unix_demo() {
    const std::string name = "@anyio-docs-udp-" + std::to_string(::getpid());
    anyio::unix_datagram_socket service = co_await anyio::create_unix_datagram_socket(name);
    anyio::connected_unix_datagram_socket client =
        co_await anyio::create_connected_unix_datagram_socket(name, name + "-client");
    co_await client.send("ping");
    anyio::datagram request = co_await service.receive_from();
    co_await service.send_to("pong", request.sender);
    std::string reply = co_await client.receive();
    std::printf("%s from %s: %s\n", request.data.c_str(),
                request.sender == client.local_address() ? "the client" : "someone else",
                reply.c_str());
}

anyio::task<> main_task() {
    co_await udp_demo();
    co_await unix_demo();
}

int main() {
    return anyio::run_main(main_task);
}
