#pragma once
// Test support for signal tests: receiving with a hang guard or a short window, and
// reading, comparing and setting signal dispositions (sigaction).

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>

namespace anyio_test {

// Linux's SA_RESTORER (<asm/signal.h>, which clashes with <signal.h>): the C library adds
// it to every handler it installs, so it is not part of what the user set.
inline constexpr int sa_restorer_flag = 0x04000000;

// The next signal, with a generous hang guard.
anyio::task<int> receive_within(anyio::signal_receiver& signals);

// The next item, with a generous hang guard.
anyio::task<anyio::signal_info> receive_info_within(anyio::signal_receiver& signals);

// A signal if one is pending or arrives within a short window, else empty: used to check
// that nothing (more) is pending.
anyio::task<std::optional<int>> receive_if_pending(anyio::signal_receiver& signals);

// An item if one is pending or arrives within `window`, else empty.
anyio::task<std::optional<anyio::signal_info>> receive_info_for(anyio::signal_receiver& signals,
                                                                anyio::clock::duration window);

// An item if one is pending or arrives within a short window, else empty: used to check
// that nothing is pending any more.
anyio::task<std::optional<anyio::signal_info>> receive_info_if_pending(
    anyio::signal_receiver& signals);

// The current disposition of `signo` (a failing sigaction is a test failure).
struct sigaction read_action(int signo);

// The handler field (a union of sa_handler and sa_sigaction) as a number.
std::uintptr_t handler_bits(const struct sigaction& action);

// A handler function (either kind) as a number, to compare with handler_bits.
template <class Handler>
std::uintptr_t bits_of(Handler* handler) {
    std::uintptr_t bits = 0;
    static_assert(sizeof(handler) == sizeof bits);
    std::memcpy(&bits, &handler, sizeof bits);
    return bits;
}

// Handler, flags (but SA_RESTORER, which the C library adds to whatever it installs, also
// when restoring a never-touched SIG_DFL) and mask are what `expected` says.
void expect_same_action(int signo, const struct sigaction& expected);

// The disposition of `signo` is SIG_DFL (resp. SIG_IGN), without SA_SIGINFO.
bool is_default(int signo);
bool is_ignored(int signo);

// Installs a plain handler (or SIG_DFL / SIG_IGN) with no flags and an empty mask.
void set_handler(int signo, void (*handler)(int));

// Installs `handler` with SA_SIGINFO and `flags`, blocking the signals in `mask` while it
// runs.
void install_siginfo(int signo, void (*handler)(int, siginfo_t*, void*), int flags,
                     std::initializer_list<int> mask);

// Installs a plain `handler` (or SIG_DFL / SIG_IGN) with `flags`, blocking the signals in
// `mask` while it runs.
void install_plain(int signo, void (*handler)(int), int flags, std::initializer_list<int> mask);

// sigqueue to this process. The kernel runs the handler before sigqueue returns (to
// this thread, unless it blocks the signal). GCC 12's libtsan instead defers a handler
// for a signal that arrives in ordinary code until the next call it intercepts (it does
// not intercept sigqueue), handles deferred signals in signal-number order and drops
// further occurrences of a signal until then (docs/design/architecture.md): an
// intercepted call without a system call right after restores the kernel's behaviour.
int queue_to_self(int signo, sigval value);

}  // namespace anyio_test
