// Tutorial step 4: a configuration file, re-read on SIGHUP. read_only=true turns SET and
// DEL away. The server around the connections is in tutorial_server.hpp.
//
//   tutorial_step4 CONFIG [PORT]
#include "tutorial_server.hpp"

#include <anyio/anyio.hpp>

#include <optional>
#include <string>

anyio::task<> handle_connection(anyio::socket_stream client, server& s) {
    kv::line_reader reader(client);
    for (;;) {
        std::optional<std::string> line = co_await reader.read_line();
        if (!line) co_return;
        // The configuration in force when the command arrives.
        const std::string reply = kv::execute(s.db, *line, s.config.read_only);
        co_await client.send(reply);
    }
}

int main(int argc, char** argv) {
    return kv::main_with_config(argc, argv, main_task);
}
