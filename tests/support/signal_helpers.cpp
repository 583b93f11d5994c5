#include "support/signal_helpers.hpp"
#include "support/sanitizers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>

#include <unistd.h>

namespace anyio_test {

using namespace std::chrono_literals;

anyio::task<int> receive_within(anyio::signal_receiver& signals) {
    co_return co_await anyio::fail_after(
        10s, [&signals]() -> anyio::task<int> { co_return co_await signals.receive(); });
}

anyio::task<anyio::signal_info> receive_info_within(anyio::signal_receiver& signals) {
    co_return co_await anyio::fail_after(10s, [&signals]() -> anyio::task<anyio::signal_info> {
        co_return co_await signals.receive_info();
    });
}

anyio::task<std::optional<int>> receive_if_pending(anyio::signal_receiver& signals) {
    co_return co_await anyio::move_on_after(
        100ms, [&signals]() -> anyio::task<int> { co_return co_await signals.receive(); });
}

anyio::task<std::optional<anyio::signal_info>> receive_info_for(anyio::signal_receiver& signals,
                                                                anyio::clock::duration window) {
    co_return co_await anyio::move_on_after(window,
                                            [&signals]() -> anyio::task<anyio::signal_info> {
                                                co_return co_await signals.receive_info();
                                            });
}

anyio::task<std::optional<anyio::signal_info>> receive_info_if_pending(
    anyio::signal_receiver& signals) {
    return receive_info_for(signals, 100ms);
}

struct sigaction read_action(int signo) {
    struct sigaction action {};
    EXPECT_EQ(::sigaction(signo, nullptr, &action), 0) << std::strerror(errno);
    return action;
}

std::uintptr_t handler_bits(const struct sigaction& action) {
    std::uintptr_t bits = 0;
    static_assert(sizeof(action.sa_handler) == sizeof bits);
    std::memcpy(&bits, &action.sa_handler, sizeof bits);
    return bits;
}

void expect_same_action(int signo, const struct sigaction& expected) {
    const struct sigaction now = read_action(signo);
    EXPECT_EQ(handler_bits(now), handler_bits(expected)) << "handler of signal " << signo;
    EXPECT_EQ(now.sa_flags & ~sa_restorer_flag, expected.sa_flags & ~sa_restorer_flag)
        << "flags of signal " << signo;
    // The mask only matters while a handler function runs; for SIG_DFL and SIG_IGN it
    // is not part of the disposition (and ThreadSanitizer's sigaction reports a full
    // one for them once they have been set through it).
    if (handler_bits(expected) == bits_of(SIG_DFL) || handler_bits(expected) == bits_of(SIG_IGN)) {
        return;
    }
    for (int s = 1; s < NSIG; ++s) {
        EXPECT_EQ(::sigismember(&now.sa_mask, s), ::sigismember(&expected.sa_mask, s))
            << "signal " << s << " in the mask of signal " << signo;
    }
}

bool is_default(int signo) {
    const struct sigaction now = read_action(signo);
    return (now.sa_flags & SA_SIGINFO) == 0 && now.sa_handler == SIG_DFL;
}

bool is_ignored(int signo) {
    const struct sigaction now = read_action(signo);
    return (now.sa_flags & SA_SIGINFO) == 0 && now.sa_handler == SIG_IGN;
}

void set_handler(int signo, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    ::sigemptyset(&action.sa_mask);
    ASSERT_EQ(::sigaction(signo, &action, nullptr), 0);
}

void install_siginfo(int signo, void (*handler)(int, siginfo_t*, void*), int flags,
                     std::initializer_list<int> mask) {
    struct sigaction action {};
    action.sa_sigaction = handler;
    action.sa_flags = flags | SA_SIGINFO;
    ::sigemptyset(&action.sa_mask);
    for (const int s : mask)
        ::sigaddset(&action.sa_mask, s);
    ASSERT_EQ(::sigaction(signo, &action, nullptr), 0) << std::strerror(errno);
}

void install_plain(int signo, void (*handler)(int), int flags, std::initializer_list<int> mask) {
    struct sigaction action {};
    action.sa_handler = handler;
    action.sa_flags = flags;
    ::sigemptyset(&action.sa_mask);
    for (const int s : mask)
        ::sigaddset(&action.sa_mask, s);
    ASSERT_EQ(::sigaction(signo, &action, nullptr), 0) << std::strerror(errno);
}

int queue_to_self(int signo, sigval value) {
    const int result = ::sigqueue(::getpid(), signo, value);
#if defined(ANYIO_TEST_THREAD_SANITIZER)
    sigset_t scratch;
    ::sigemptyset(&scratch);
#endif
    return result;
}

}  // namespace anyio_test
