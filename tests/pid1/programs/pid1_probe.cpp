// A library program for the PID 1 tests (run as PID 1 in a new PID namespace):
//   pid1_probe pending-term   a SIGTERM still pending in a receiver when it closes must
//                             end the process (128 + 15), as it would any other process
//   pid1_probe ctrl-c         run_main: SIGINT ends it with 128 + 2 after the cleanup
//   pid1_probe orphans N      starts `pid1_child orphans N` with the library, prints its
//                             status (never stolen by the reaper), then waits for SIGTERM

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

anyio::task<> pending_term() {
    auto terms = anyio::open_signal_receiver(SIGTERM);
    auto go = anyio::open_signal_receiver(SIGUSR1);
    say("ready");
    (void)co_await go.receive();
    terms.close();  // SIGTERM arrived before SIGUSR1 and was never received
    say("survived the closed receiver");
}

anyio::task<> ctrl_c() {
    struct cleanup {
        ~cleanup() { say("cleaned up"); }
    } on_exit;
    say("ready");
    co_await anyio::sleep_forever();
}

anyio::task<> orphans(std::string child, std::string n) {
    const std::vector<std::string> argv = {child, "orphans", n};
    anyio::process_options options;
    options.stdout_to = anyio::stdio::inherit();
    anyio::process p = co_await anyio::open_process(argv, options);
    const int status = co_await p.wait();
    say("child status " + std::to_string(status));
    auto terms = anyio::open_signal_receiver(SIGTERM);
    say("ready");
    (void)co_await terms.receive();
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "pending-term") return anyio::run_main(pending_term);
    if (mode == "ctrl-c") return anyio::run_main(ctrl_c);
    if (mode == "orphans" && argc == 4) {
        return anyio::run_main(orphans, std::string(argv[2]), std::string(argv[3]));
    }
    std::fprintf(stderr, "pid1_probe: unknown mode\n");
    return 100;
}
