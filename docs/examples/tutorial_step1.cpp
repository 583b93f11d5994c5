// Tutorial step 1: the store, and clients running concurrently in a task group.
#include "tutorial_kv.hpp"

#include <anyio/anyio.hpp>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

// A client of the store: runs its commands one by one. `db` is shared (std::ref at the
// call); `name` and `commands` are this task's own copies.
anyio::task<> client(std::string name, std::vector<std::string> commands, kv::store& db) {
    for (const std::string& command : commands) {
        const std::string reply = kv::execute(db, command);
        std::printf("%s: %s -> %s", name.c_str(), command.c_str(), reply.c_str());
        co_await anyio::checkpoint();  // let the other clients run
    }
}

anyio::task<> main_task() {
    kv::store db;
    const std::vector<std::string> alice = {"SET colour blue", "GET colour", "DEL colour"};
    const std::vector<std::string> bob = {"SET size 42", "GET colour", "GET size"};
    // Returns once both clients have finished.
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(client, "alice", alice, std::ref(db));
        tg.start_soon(client, "bob", bob, std::ref(db));
        co_return;
    });
    std::printf("%zu key(s) left\n", db.size());
}

int main() {
    return anyio::run_main(main_task);
}
