// Tutorial step 5: a time limit per connection. A client that sends nothing for
// idle_timeout_ms gets "BYE idle" and is disconnected, so idle clients cannot pile up.
//
//   tutorial_step5 CONFIG [PORT]
#include "tutorial_server.hpp"

#include <anyio/anyio.hpp>

#include <optional>
#include <string>

anyio::task<> handle_connection(anyio::socket_stream client, server& s) {
    kv::line_reader reader(client);
    for (;;) {
        std::optional<std::string> line;
        // Named before the co_await: see the g++ 12 note in the tutorial.
        auto read = [&]() -> anyio::task<> { line = co_await reader.read_line(); };
        const bool in_time = co_await anyio::move_on_after(s.config.idle_timeout, read);
        if (!in_time) {
            co_await client.send("BYE idle\n");
            co_return;
        }
        if (!line) co_return;
        // The configuration in force when the command arrives.
        const std::string reply = kv::execute(s.db, *line, s.config.read_only);
        co_await client.send(reply);
    }
}

int main(int argc, char** argv) {
    return kv::main_with_config(argc, argv, main_task);
}
