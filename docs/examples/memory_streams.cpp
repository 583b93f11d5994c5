// Memory object streams: two producers on clones of one send end, one consumer that runs
// until every send end is closed, and what a sender sees once no receiver is left.
#include <anyio/anyio.hpp>

#include <cstdio>
#include <string>
#include <tuple>
#include <utility>

// Owns its end: the end closes when the task finishes, and the consumer sees the
// stream end once every clone is closed.
anyio::task<> produce(anyio::memory_object_send_stream<std::string> out, std::string name) {
    for (int i = 1; i <= 3; ++i) {
        co_await out.send(name + " " + std::to_string(i));  // waits while the buffer is full
    }
}

anyio::task<> consume(anyio::memory_object_receive_stream<std::string> in) {
    int received = 0;
    for (;;) {
        std::string item;
        try {
            item = co_await in.receive();
        } catch (const anyio::end_of_stream&) {
            break;  // every send end is closed and the buffer is empty
        }
        ++received;
    }
    std::printf("consumer received %d items\n", received);
}

anyio::task<> main_task() {
    // std::tie rather than `auto [send, receive]`: clang 14 cannot capture a structured
    // binding in the lambda below.
    anyio::memory_object_send_stream<std::string> send;
    anyio::memory_object_receive_stream<std::string> receive;
    std::tie(send, receive) = anyio::create_memory_object_stream<std::string>(2);
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(consume, std::move(receive));
        tg.start_soon(produce, send.clone(), "alice");
        tg.start_soon(produce, std::move(send), "bob");
        co_return;
    });

    // Nobody left to receive: the sender learns it instead of waiting forever.
    auto [lonely, gone] = anyio::create_memory_object_stream<int>(1);
    gone.close();
    try {
        co_await lonely.send(1);
    } catch (const anyio::broken_resource_error& error) {
        std::printf("send: %s\n", error.what());
    }

    // The non-blocking forms throw would_block instead of waiting; not checkpoints.
    auto [tx, rx] = anyio::create_memory_object_stream<int>(1);
    tx.send_nowait(1);
    try {
        tx.send_nowait(2);
    } catch (const anyio::would_block&) {
        anyio::memory_object_stream_statistics stats = tx.statistics();
        std::printf("buffer full: %zu of %zu\n", stats.current_buffer_used, stats.max_buffer_size);
    }
    std::printf("received %d\n", rx.receive_nowait());
}

int main() {
    return anyio::run_main(main_task);
}
