// Stopping a child gracefully with process::stop (the stop signal, a grace period, then
// SIGKILL), a program's own stop signal, a cancelled stop, and shell command lines.
#include <anyio/anyio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

// What the child prints until it closes its stdout.
anyio::task<std::string> read_rest(anyio::abc::byte_receive_stream& stream) {
    std::string all;
    for (;;) {
        try {
            all += co_await stream.receive();
        } catch (const anyio::end_of_stream&) {
            co_return all;
        }
    }
}

// The children below print "ready" once their signal handling is in place: a signal sent
// before that would find the shell's default disposition.
anyio::task<> wait_until_ready(anyio::abc::byte_receive_stream& stream) {
    std::string seen;
    while (seen.find("ready\n") == std::string::npos)
        seen += co_await stream.receive();
}

anyio::task<> main_task() {
    // A worker that cleans up on SIGTERM: stop() returns its own exit code, and what it
    // printed while shutting down is still there to read.
    anyio::process worker = co_await anyio::open_process(
        "trap 'kill $!; echo saving state; exit 0' TERM; sleep 60 >/dev/null & echo ready; wait");
    co_await wait_until_ready(worker.stdout_stream());
    const int worker_code = co_await worker.stop(5s);
    const std::string farewell = co_await read_rest(worker.stdout_stream());
    std::printf("worker said: %s", farewell.c_str());
    std::printf("worker exited with %d\n", worker_code);

    // A child that ignores SIGTERM gets SIGKILL when the grace ends.
    anyio::process stubborn =
        co_await anyio::open_process("trap '' TERM; echo ready; exec sleep 60");
    co_await wait_until_ready(stubborn.stdout_stream());
    const int stubborn_code = co_await stubborn.stop(200ms);
    std::printf("stubborn child ended by signal %d\n", -stubborn_code);

    // A program whose clean stop is another signal: say so when starting it, and stop()
    // without arguments uses it (run_process's cancellation too).
    anyio::process_options options;
    options.termination_signal = SIGINT;
    options.termination_grace = 3s;
    const std::vector<std::string> sleeper_argv = {"sleep", "60"};
    anyio::process sleeper = co_await anyio::open_process(sleeper_argv, options);
    const int sleeper_code = co_await sleeper.stop();
    std::printf("sleep ended by signal %d (SIGINT is %d)\n", -sleeper_code, SIGINT);

    // A stop that is cancelled during its grace still kills and reaps the child before
    // `cancelled` goes on.
    anyio::process again = co_await anyio::open_process("trap '' TERM; echo ready; exec sleep 60");
    co_await wait_until_ready(again.stdout_stream());
    auto patient_stop = [&]() -> anyio::task<> { (void)co_await again.stop(1h); };
    const bool finished = co_await anyio::move_on_after(100ms, patient_stop);
    std::printf("patient stop finished: %s; the child ended by signal %d\n",
                finished ? "yes" : "no", -again.returncode().value_or(0));

    // A shell command line: pipelines and redirections work.
    anyio::process pipeline =
        co_await anyio::open_process("printf 'pear\\napple\\nfig\\n' | sort | paste -sd, -");
    const std::string sorted = co_await read_rest(pipeline.stdout_stream());
    (void)co_await pipeline.wait();
    std::printf("sorted: %s", sorted.c_str());

    // Never paste outside input into a command line: pass it as an argument the shell
    // does not parse ($1 here), or use argv without a shell.
    const std::string untrusted = "notes.txt; echo gotcha";
    const std::vector<std::string> safe = {"/bin/sh", "-c", "printf 'file: %s\\n' \"$1\"", "sh",
                                           untrusted};
    anyio::process quoted = co_await anyio::open_process(safe);
    const std::string printed = co_await read_rest(quoted.stdout_stream());
    (void)co_await quoted.wait();
    std::printf("%s", printed.c_str());
}

int main() {
    return anyio::run_main(main_task);
}
