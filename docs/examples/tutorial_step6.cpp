// Tutorial step 6: a blocking call in a worker thread. SAVE writes the store to the
// snapshot file without stopping the loop: the other connections go on meanwhile.
//
//   tutorial_step6 CONFIG [PORT]
#include "tutorial_server.hpp"

#include <anyio/anyio.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

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
        if (*line == "SAVE") {
            // The worker gets its own copy: the loop goes on changing the store meanwhile.
            kv::store copy = s.db;
            const std::size_t saved = co_await anyio::to_thread::run_sync(
                kv::save_snapshot, s.config.snapshot, std::move(copy));
            const std::string reply = "OK saved " + std::to_string(saved) + " key(s)\n";
            co_await client.send(reply);
            continue;
        }
        // The configuration in force when the command arrives.
        const std::string reply = kv::execute(s.db, *line, s.config.read_only);
        co_await client.send(reply);
    }
}

int main(int argc, char** argv) {
    return kv::main_with_config(argc, argv, main_task);
}
