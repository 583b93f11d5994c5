#include <anyio/testing/mock_clock.hpp>

#include "core/loop.hpp"
#include "core/mock_clock_access.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace anyio::testing {

namespace {

// a + d, stopping at the end of the range instead of overflowing.
clock::time_point saturating_add(clock::time_point a, clock::duration d) noexcept {
    if (d > clock::time_point::max() - a) return clock::time_point::max();
    return a + d;
}

void check_threshold(clock::duration threshold) {
    if (threshold < clock::duration::zero()) {
        throw std::invalid_argument("anyio::testing::mock_clock: negative autojump threshold");
    }
}

void check_rate(double rate) {
    if (!(rate >= 0.0)) {  // NaN too
        throw std::invalid_argument("anyio::testing::mock_clock: the rate must be >= 0");
    }
}

}  // namespace

mock_clock::mock_clock(const mock_clock_options& options)
    : virtual_base_(options.start),
      real_base_(real_clock::now()),
      rate_(options.rate),
      threshold_(options.autojump_threshold) {
    check_rate(options.rate);
    check_threshold(options.autojump_threshold);
    // The monotonic clock never reads below zero, and deadline arithmetic relies on it.
    if (options.start < clock::time_point{}) {
        throw std::invalid_argument("anyio::testing::mock_clock: a start before the epoch");
    }
}

clock::time_point mock_clock::at(real_clock::time_point real) const noexcept {
    if (rate_ == 0.0) return virtual_base_;
    const double advanced = static_cast<double>((real - real_base_).count()) * rate_;
    const double room = static_cast<double>((clock::time_point::max() - virtual_base_).count());
    if (advanced >= room) return clock::time_point::max();
    return virtual_base_ + clock::duration(static_cast<clock::duration::rep>(advanced));
}

void mock_clock::rebase(real_clock::time_point real, clock::time_point virtual_now) noexcept {
    real_base_ = real;
    virtual_base_ = virtual_now;
}

void mock_clock::wake_loop() const noexcept {
    if (loop_ != nullptr) loop_->waker().notify();
}

clock::time_point mock_clock::now() const noexcept {
    const std::lock_guard lock(mutex_);
    if (rate_ == 0.0) return virtual_base_;  // no need to read the real clock
    return at(real_clock::now());
}

void mock_clock::jump(clock::duration d) {
    if (d < clock::duration::zero()) {
        throw std::invalid_argument("anyio::testing::mock_clock::jump: time cannot go backwards");
    }
    const std::lock_guard lock(mutex_);
    const real_clock::time_point real = real_clock::now();
    rebase(real, saturating_add(at(real), d));
    wake_loop();
}

double mock_clock::rate() const noexcept {
    const std::lock_guard lock(mutex_);
    return rate_;
}

void mock_clock::set_rate(double rate) {
    check_rate(rate);
    const std::lock_guard lock(mutex_);
    const real_clock::time_point real = real_clock::now();
    rebase(real, at(real));
    rate_ = rate;
    wake_loop();
}

clock::duration mock_clock::autojump_threshold() const noexcept {
    const std::lock_guard lock(mutex_);
    return threshold_;
}

void mock_clock::set_autojump_threshold(clock::duration threshold) {
    check_threshold(threshold);
    const std::lock_guard lock(mutex_);
    threshold_ = threshold;
    wake_loop();
}

}  // namespace anyio::testing

namespace anyio::detail {

void mock_clock_access::bind(testing::mock_clock& c, loop& l) {
    const std::lock_guard lock(c.mutex_);
    if (c.loop_ != nullptr) {
        throw std::logic_error(
            "anyio::testing::mock_clock: the clock already drives another loop (one at a time)");
    }
    c.loop_ = &l;
}

void mock_clock_access::unbind(testing::mock_clock& c) noexcept {
    const std::lock_guard lock(c.mutex_);
    c.loop_ = nullptr;
}

idle_wait mock_clock_access::plan(const testing::mock_clock& c,
                                  clock::time_point deadline) noexcept {
    const std::lock_guard lock(c.mutex_);
    const auto real = testing::mock_clock::real_clock::now();
    const clock::time_point now = c.at(real);
    idle_wait wait;
    if (deadline <= now) {
        wait.timeout = std::chrono::nanoseconds::zero();
        return wait;
    }
    if (c.rate_ > 0.0) {
        // Rounded up: waking a hair early would only poll again.
        const double real_ns = std::ceil(static_cast<double>((deadline - now).count()) / c.rate_);
        if (real_ns < static_cast<double>(std::chrono::nanoseconds::max().count() / 2)) {
            wait.timeout = std::chrono::nanoseconds(static_cast<std::int64_t>(real_ns));
        }
    }
    if (c.threshold_ != clock::duration::max() &&
        (wait.timeout < std::chrono::nanoseconds::zero() || c.threshold_ < wait.timeout)) {
        wait.timeout = c.threshold_;
        wait.autojump = true;
        wait.not_before = testing::saturating_add(real, c.threshold_);
    }
    return wait;
}

void mock_clock_access::advance_to(testing::mock_clock& c, clock::time_point deadline) noexcept {
    const std::lock_guard lock(c.mutex_);
    const auto real = testing::mock_clock::real_clock::now();
    if (deadline > c.at(real)) c.rebase(real, deadline);
}

}  // namespace anyio::detail
