// Text streams: UTF-8 over a byte stream. receive() returns whole code points even when a
// code point's bytes arrive apart; bytes that are not UTF-8 are an error naming their
// offset, or U+FFFD when the stream is made with text_errors::replace.
#include <anyio/anyio.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/socket.h>

anyio::task<> main_task() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair");
    anyio::byte_stream raw = anyio::byte_stream::adopt(fds[0]);
    anyio::text_stream text(anyio::byte_stream::adopt(fds[1]));

    // U+00E9 is two bytes, C3 A9: the first arrives alone, and is held back.
    co_await raw.send("caf\xC3");
    const std::string first = co_await text.receive();
    co_await raw.send("\xA9!");
    const std::string second = co_await text.receive();
    std::printf("received \"%s\", then %zu bytes: U+00E9 whole and \"!\": %s\n", first.c_str(),
                second.size(), second == "\xC3\xA9!" ? "yes" : "no");

    // A byte that cannot be UTF-8: the text before it first, then the error.
    co_await raw.send("ok\xFF");
    const std::string before = co_await text.receive();
    try {
        (void)co_await text.receive();
    } catch (const anyio::decoding_error& error) {
        std::printf("\"%s\", then %s\n", before.c_str(), error.what());
    }

    // send() checks the text too: nothing of it is sent.
    try {
        co_await text.send("half a code point: \xE6\x97");
    } catch (const anyio::decoding_error& error) {
        std::printf("send: %s\n", error.what());
    }

    // With text_errors::replace, each invalid sequence becomes U+FFFD (EF BF BD).
    anyio::text_send_stream lenient(std::move(raw), anyio::text_errors::replace);
    co_await lenient.send("bad \xFF");
    const std::string fixed = co_await text.receive();
    std::printf("received \"bad \" + U+FFFD: %s\n", fixed == "bad \xEF\xBF\xBD" ? "yes" : "no");
}

int main() {
    return anyio::run_main(main_task);
}
