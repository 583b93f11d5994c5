// A socket-activated service for tests/service/test_socket_activation.cpp, started by the
// real systemd-socket-activate. It takes every passed listener, prints
//
//   listener INDEX NAME ADDRESS         one line each, in the order they were passed
//   ready                               once it serves them all
//
// and answers each line a client sends with "NAME:line\n" (NAME: the listener's name), or,
// for the line "env", with "NAME:" and the names of its LISTEN_* variables left in its
// environment (none: they were removed). SIGTERM ends it gracefully: it prints "stopped",
// then dies by SIGTERM (run_main).

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string leftover_variables() {
    std::string names;
    for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) {
        if (std::getenv(name) != nullptr) names += std::string(" ") + name;
    }
    return names;
}

// One connection: a reply per line until the client ends its side. The stream is moved in;
// `name` refers to the child's own copy, which lives as long as the child.
anyio::task<> answer(anyio::socket_stream stream, const std::string& name) {
    std::string pending;
    char buffer[4096];
    for (;;) {
        const auto newline = pending.find('\n');
        if (newline == std::string::npos) {
            std::size_t n = 0;
            try {
                n = co_await stream.receive_into(buffer);
            } catch (const anyio::end_of_stream&) {
                co_return;
            }
            pending.append(buffer, n);
            continue;
        }
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        if (line == "env") line = "env:" + leftover_variables();
        co_await stream.send(name + ":" + line + "\n");
    }
}

// Every connection of one listener, each as a child of `group`.
anyio::task<> serve_listener(anyio::socket_listener* listener, std::string name,
                             anyio::task_group* group) {
    for (;;) {
        anyio::socket_stream stream = co_await listener->accept();
        group->start_soon(answer, std::move(stream), name);
    }
}

struct stop_note {
    ~stop_note() {
        std::puts("stopped");
        std::fflush(stdout);
    }
};

// Takes every socket as a listener of its family; nothing is left for `activated` to close.
anyio::task<> serve_activated(anyio::activated_sockets* activated) {
    std::vector<std::unique_ptr<anyio::socket_listener>> listeners;
    for (std::size_t i = 0; i < activated->size(); ++i) {
        std::printf("listener %zu %s %s\n", i, activated->name(i).c_str(),
                    activated->address(i).to_string().c_str());
        if (activated->address(i).family() == AF_UNIX) {
            std::optional<anyio::unix_listener> taken = activated->take_unix(i);
            listeners.push_back(std::make_unique<anyio::unix_listener>(std::move(*taken)));
        } else {
            std::optional<anyio::tcp_listener> taken = activated->take_tcp(i);
            listeners.push_back(std::make_unique<anyio::tcp_listener>(std::move(*taken)));
        }
    }
    const stop_note note;
    co_await anyio::with_task_group([&](anyio::task_group& group) -> anyio::task<> {
        for (std::size_t i = 0; i < listeners.size(); ++i)
            group.start_soon(serve_listener, listeners[i].get(), activated->name(i), &group);
        std::puts("ready");
        std::fflush(stdout);
        co_return;
    });
}

}  // namespace

int main() {
    // Before anything else: the variables must not reach any child, nor a second reader.
    anyio::activated_sockets activated = anyio::activated_sockets::from_environment();
    if (activated.empty()) {
        std::fputs("activation_target: not socket-activated\n", stderr);
        return 2;
    }
    anyio::run_options options;
    options.graceful_signals = {SIGTERM};
    return anyio::run_main(options, serve_activated, &activated);
}
