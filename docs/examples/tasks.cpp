// Tasks and task groups: run with arguments, start_soon with copies and std::ref,
// start() with a task_status, and the exception_group of a group whose children failed.
#include <anyio/anyio.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// `word` is the child's own copy; `total` is shared through std::ref.
anyio::task<> count_letters(std::string word, int& total) {
    co_await anyio::sleep(1ms);  // a checkpoint: the other children run meanwhile
    total += static_cast<int>(word.size());
}

// Started with start(): reports a value once it is ready, then keeps running in the group.
anyio::task<> ticker(anyio::task_status<std::string>& status, std::chrono::milliseconds period) {
    status.started("ticking every " + std::to_string(period.count()) + " ms");
    for (;;)
        co_await anyio::sleep(period);
}

// Fails at once, before any checkpoint, so every child fails with its own exception.
anyio::task<> parse(std::string text, std::vector<int>& numbers) {
    numbers.push_back(std::stoi(text));  // std::invalid_argument or std::out_of_range
    co_return;
}

anyio::task<int> main_task(int words) {
    int total = 0;
    co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
        tg.start_soon(count_letters, "structured", std::ref(total));
        tg.start_soon(count_letters, "concurrency", std::ref(total));
        // start() returns once the child called status.started(...).
        std::string what = co_await tg.start(ticker, 10ms);
        std::printf("ticker: %s\n", what.c_str());
        // The ticker never ends by itself: cancel the group's scope to stop it.
        co_await anyio::sleep(20ms);
        tg.cancel_scope().cancel();
    });
    std::printf("%d words, %d letters\n", words, total);

    std::vector<int> numbers;
    try {
        co_await anyio::with_task_group([&](anyio::task_group& tg) -> anyio::task<> {
            for (const char* text : {"12", "twelve", "99999999999", "13"}) {
                tg.start_soon(parse, std::string(text), std::ref(numbers));
            }
            co_return;
        });
    } catch (const anyio::exception_group& group) {
        std::printf("%zu failures; an out_of_range among them: %s\n", group.size(),
                    group.contains<std::out_of_range>() ? "yes" : "no");
        try {
            // Python's `except* ValueError`: handles those leaves, throws a group of the rest.
            group.handle<std::invalid_argument>([](const std::invalid_argument& error) {
                std::printf("not a number (%s)\n", error.what());
            });
        } catch (const anyio::exception_group& rest) {
            std::printf("left: %s\n", rest.what());
        }
    }
    std::printf("parsed %zu numbers\n", numbers.size());
    co_return 0;
}

int main() {
    return anyio::run_main(main_task, 2);
}
