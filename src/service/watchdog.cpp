// The watchdog keep-alive task (sd_watchdog_enabled(3) and WATCHDOG=1).

#include <anyio/service_notify.hpp>
#include <anyio/time.hpp>
#include <anyio/watchdog.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

namespace anyio {

namespace {

// A positive decimal number and nothing else: no sign, space or suffix, no overflow. A
// manager writes exactly that; anything else means the variable is not for us.
template <class Integer>
std::optional<Integer> parse_positive(const char* text) {
    if (text == nullptr) return std::nullopt;
    const std::string_view digits(text);
    if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
    Integer value{};
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size() || value <= 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<std::chrono::microseconds> watchdog_interval() {
    const auto usec = parse_positive<std::chrono::microseconds::rep>(std::getenv("WATCHDOG_USEC"));
    if (!usec) return std::nullopt;
    // Set by a manager for its main process; a child that inherited the environment must
    // not ping in its parent's name.
    if (const char* pid_text = std::getenv("WATCHDOG_PID"); pid_text != nullptr) {
        const auto pid = parse_positive<pid_t>(pid_text);
        if (!pid || *pid != ::getpid()) return std::nullopt;
    }
    return std::chrono::microseconds(*usec);
}

task<> run_watchdog() {
    const std::optional<std::chrono::microseconds> interval = watchdog_interval();
    const char* found = std::getenv("NOTIFY_SOCKET");
    if (!interval || found == nullptr || *found == '\0') co_return;
    // A copy: the program may unset the variable (and so free its text) while we run.
    const std::string address(found);
    // Half the interval, as sd_watchdog_enabled(3) advises, so that a ping late by a
    // scheduling hiccup still arrives in time; at least 1 us, so that a tiny interval
    // does not make this task spin.
    const auto period = std::max(*interval / 2, std::chrono::microseconds(1));
    constexpr std::string_view ping[] = {"WATCHDOG=1"};
    for (;;) {
        try {
            detail::send_notification("anyio::run_watchdog", address.c_str(), ping, 1);
        } catch (const service_notify_error& e) {
            if (e.code().value() != EAGAIN && e.code().value() != EWOULDBLOCK) throw;
        }
        co_await sleep(period);
    }
}

}  // namespace anyio
