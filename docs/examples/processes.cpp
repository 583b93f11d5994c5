// Subprocesses: run_process with input and check, called_process_error, a conversation
// with open_process, and stopping a child gracefully (SIGTERM, then SIGKILL).
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

anyio::task<> main_task() {
    // Run to the end, feeding stdin, collecting stdout and stderr. g++ 12 cannot compile a
    // braced list inside co_await: name the argv first.
    const std::vector<std::string> upper = {"tr", "a-z", "A-Z"};
    anyio::completed_process done = co_await anyio::run_process(upper, "quiet please\n");
    std::printf("tr said: %s", done.stdout_data.c_str());

    // check (the default): a non-zero return code throws, with the output inside.
    const std::vector<std::string> failing = {"sh", "-c", "echo oops >&2; exit 3"};
    try {
        co_await anyio::run_process(failing);
    } catch (const anyio::called_process_error& error) {
        std::printf("returncode %d, stderr: %s", error.returncode(), error.stderr_data().c_str());
    }
    // check = false: the return code is data.
    anyio::completed_process unchecked = co_await anyio::run_process(failing, "", false);
    std::printf("unchecked returncode %d\n", unchecked.returncode);

    // A conversation: write, end the input, read, wait.
    const std::vector<std::string> cat = {"cat"};
    anyio::process child = co_await anyio::open_process(cat);
    co_await child.stdin_stream().send("ping\n");
    co_await child.stdin_stream().send_eof();
    std::string echoed = co_await child.stdout_stream().receive();
    int code = co_await child.wait();
    std::printf("cat echoed %s", echoed.c_str());
    std::printf("cat exited with %d\n", code);

    // Stopping a child gracefully by hand: SIGTERM, a grace period, then SIGKILL.
    const std::vector<std::string> stubborn = {"sh", "-c",
                                               "trap '' TERM; echo ready; exec sleep 60"};
    anyio::process sleeper = co_await anyio::open_process(stubborn);
    std::string ready = co_await sleeper.stdout_stream().receive();  // the trap is set
    sleeper.terminate();                                             // ignored by this one
    auto wait_for_exit = [&]() -> anyio::task<int> { co_return co_await sleeper.wait(); };
    std::optional<int> exited = co_await anyio::move_on_after(100ms, wait_for_exit);
    if (!exited) {
        sleeper.kill();
        exited = co_await sleeper.wait();
    }
    std::printf("stubborn child ended by signal %d\n", -*exited);

    // run_process does the same when it is cancelled: SIGTERM, SIGKILL after
    // termination_grace, and the child is reaped before `cancelled` goes on.
    const std::vector<std::string> slow = {"sleep", "60"};
    anyio::process_options options;
    options.termination_grace = 500ms;
    auto run_slow = [&]() -> anyio::task<> {
        co_await anyio::run_process(slow, "", true, options);
    };
    const anyio::clock::time_point start = anyio::current_time();
    co_await anyio::move_on_after(50ms, run_slow);
    std::printf("sleep 60 stopped at once by SIGTERM: %s\n",
                anyio::current_time() - start < 500ms ? "yes" : "no");
}

int main() {
    return anyio::run_main(main_task);
}
