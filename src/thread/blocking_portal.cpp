#include <anyio/blocking_portal.hpp>

#include "thread/portal_core.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace anyio {

blocking_portal::blocking_portal(std::unique_ptr<detail::portal_core> core) noexcept
    : core_(std::move(core)) {}

blocking_portal::blocking_portal(blocking_portal&&) noexcept = default;

blocking_portal& blocking_portal::operator=(blocking_portal&& other) noexcept {
    if (this != &other) {
        if (core_) core_->stop(true);
        core_ = std::move(other.core_);
    }
    return *this;
}

blocking_portal::~blocking_portal() {
    if (core_) core_->stop(true);
}

namespace {
detail::portal_core& core_of(const std::unique_ptr<detail::portal_core>& core, const char* what) {
    if (!core) throw std::logic_error(std::string(what) + ": the portal was moved from");
    return *core;
}
}  // namespace

void blocking_portal::submit(const std::shared_ptr<detail::thread_request>& call,
                             const char* what) {
    core_of(core_, what).submit(call, what);
}

void blocking_portal::stop(bool cancel_remaining) {
    core_of(core_, "anyio::blocking_portal::stop").stop(cancel_remaining);
}

bool blocking_portal::running() const noexcept {
    return core_ && core_->running();
}

int blocking_portal::wait_for_stop() {
    return core_of(core_, "anyio::blocking_portal::wait_for_stop").wait_for_stop();
}

bool blocking_portal::wait_for_stop_until(std::chrono::steady_clock::time_point deadline) {
    return core_of(core_, "anyio::blocking_portal::wait_for_stop_for")
        .wait_for_stop_until(deadline);
}

int blocking_portal::stop_signal() const noexcept {
    return core_ ? core_->stop_signal() : 0;
}

blocking_portal start_blocking_portal() {
    return blocking_portal(std::make_unique<detail::portal_core>(std::nullopt));
}

}  // namespace anyio
