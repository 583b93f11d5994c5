// A stapled stream: a child's stdin and stdout used as one byte stream, wrapped in a
// buffered stream to talk to `cat` a line at a time. send_eof() closes the child's stdin.
#include <anyio/anyio.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

anyio::task<> main_task() {
    const std::vector<std::string> argv = {"cat"};
    anyio::process cat = co_await anyio::open_process(argv);
    anyio::stapled_byte_stream both(std::move(cat.stdin_stream()), std::move(cat.stdout_stream()));
    anyio::buffered_byte_stream lines(std::move(both));

    for (const char* word : {"ping", "pong"}) {
        co_await lines.send(std::string(word) + "\n");
        const std::string echoed = co_await lines.receive_until("\n", 1024);
        std::printf("cat echoed \"%s\"\n", echoed.c_str());
    }
    co_await lines.send_eof();  // closes cat's stdin: cat ends, and so does its output
    try {
        (void)co_await lines.receive_until("\n", 1024);
    } catch (const anyio::end_of_stream&) {
        std::puts("end of stream after send_eof");
    }
    const int code = co_await cat.wait();
    std::printf("cat exited with %d\n", code);
    co_await lines.aclose();  // closes both pipes (and is idempotent)
}

int main() {
    return anyio::run_main(main_task);
}
