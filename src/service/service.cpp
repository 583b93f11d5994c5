#include <anyio/service.hpp>

#include <anyio/service_notify.hpp>
#include <anyio/signals.hpp>
#include <anyio/time.hpp>
#include <anyio/watchdog.hpp>

#include "signal/registry.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <string.h>

namespace anyio {

namespace {

std::string signal_name(int signo) {
    if (signo == 0) return "a stop request";
    const char* abbreviation = ::sigabbrev_np(signo);
    return abbreviation != nullptr ? std::string("SIG") + abbreviation
                                   : "signal " + std::to_string(signo);
}

void check_duration(std::chrono::milliseconds value, const char* name) {
    if (value.count() < 0) {
        throw std::invalid_argument(std::string("anyio::service: ") + name + " is negative (" +
                                    std::to_string(value.count()) + " ms)");
    }
}

}  // namespace

service::service(service_options options) : options_(std::move(options)) {
    check_duration(options_.accept_delay, "accept_delay");
    check_duration(options_.grace_period, "grace_period");
    check_duration(options_.extend_interval, "extend_interval");
    detail::signals::validate(options_.stop_signals, "anyio::service (stop_signals)");
    detail::signals::validate(options_.reload_signals, "anyio::service (reload_signals)");
    for (const int signo : options_.reload_signals) {
        if (std::find(options_.stop_signals.begin(), options_.stop_signals.end(), signo) !=
            options_.stop_signals.end()) {
            throw std::invalid_argument("anyio::service: " + signal_name(signo) +
                                        " is both a stop and a reload signal");
        }
    }
}

service::~service() = default;

void service::on_reload(std::function<task<>()> reload) {
    reload_ = std::move(reload);
}

void service::on_stop_accepting(std::function<void()> stop) {
    stop_hooks_.push_back(std::move(stop));
}

void service::send(std::string_view assignments) noexcept {
    try {
        notify_service(assignments);
    } catch (const std::exception& e) {
        notify_error_ = e.what();
    } catch (...) {
        notify_error_ = "unknown error";
    }
}

void service::ready(std::string_view status) {
    if (state_ == service_state::stopping) return;
    if (!status.empty()) status_ = status;
    state_ = service_state::ready;
    notify_ready(status_);
    if (reload_pending_ && !reload_running_ && group_ != nullptr) {
        reload_running_ = true;
        group_->start_soon([this] { return reload_loop(); });
    }
}

void service::set_status(std::string_view status) {
    status_ = status;
    notify_status(status_);
}

void service::request_stop() {
    if (state_ == service_state::stopping) {
        second_request_.set();
        work_.cancel();
        return;
    }
    begin_stop(0);
}

task<> service::run(std::function<task<>(service&)> body) {
    if (ran_) throw std::logic_error("anyio::service::run: a service runs once");
    ran_ = true;
    std::vector<int> watched = options_.stop_signals;
    watched.insert(watched.end(), options_.reload_signals.begin(), options_.reload_signals.end());
    // Open before the body starts: a signal that arrives while the program starts up is
    // handled (a stop during startup still drains), not left to the default action.
    signal_receiver signals = open_signal_receiver(std::span<const int>(watched));
    // The body's own exception is rethrown as it is, not inside an exception_group: the
    // lifecycle's tasks never fail, so the group is only plumbing.
    std::exception_ptr failure;
    co_await with_task_group([&](task_group& group) -> task<> {
        group_ = &group;
        if (options_.watchdog) group.start_soon([this] { return keep_pinging(); });
        group.start_soon([this, &signals] { return watch_signals(signals); });
        try {
            co_await work_.run([&]() -> task<> { co_await body(*this); });
        } catch (const std::exception& e) {
            std::string report = "STATUS=failed: ";
            const std::string what = e.what();
            report.append(what.substr(0, what.find('\n')));
            if (const auto* system = dynamic_cast<const std::system_error*>(&e)) {
                if (system->code().category() == std::generic_category() ||
                    system->code().category() == std::system_category()) {
                    if (system->code().value() > 0) {
                        report += "\nERRNO=" + std::to_string(system->code().value());
                    }
                }
            }
            send(report);
            failure = std::current_exception();
        }
        group_ = nullptr;
        group.cancel_scope().cancel();
    });
    if (failure) std::rethrow_exception(failure);
}

task<> service::keep_pinging() {
    try {
        co_await run_watchdog();
    } catch (const service_notify_error& e) {
        // The manager's socket is gone; the service keeps serving without pings.
        notify_error_ = e.what();
    }
}

task<> service::watch_signals(signal_receiver& signals) {
    for (;;) {
        const signal_info info = co_await signals.receive_info();
        const bool is_reload =
            std::find(options_.reload_signals.begin(), options_.reload_signals.end(), info.signo) !=
            options_.reload_signals.end();
        if (is_reload) {
            if (state_ == service_state::stopping) continue;
            reload_pending_ = true;
            if (state_ == service_state::starting || reload_running_) continue;
            reload_running_ = true;
            group_->start_soon([this] { return reload_loop(); });
        } else if (state_ != service_state::stopping) {
            begin_stop(info.signo);
        } else if (info.requests != 0) {
            // A second request: no more waiting. The same request reaching the process
            // again (a terminal's Ctrl+C, `timeout` signalling the group) is not one.
            second_request_.set();
            work_.cancel();
        }
    }
}

task<> service::reload_loop() {
    while (reload_pending_ && state_ != service_state::stopping) {
        reload_pending_ = false;
        state_ = service_state::reloading;
        try {
            notify_reloading();
        } catch (const std::exception& e) {
            notify_error_ = e.what();
        }
        std::string report;
        try {
            if (reload_) co_await reload_();
            ++reloads_;
            report = status_.empty() ? std::string("reloaded") : status_;
        } catch (const std::exception& e) {
            ++failed_reloads_;
            const std::string what = e.what();
            report =
                "reload failed, keeping the old configuration: " + what.substr(0, what.find('\n'));
        }
        if (state_ == service_state::stopping) break;
        state_ = service_state::ready;
        send("READY=1\nSTATUS=" + report);
    }
    reload_running_ = false;
}

void service::begin_stop(int signo) {
    // Before ready() nothing is served yet, so there is nothing to drain: stop at once.
    if (state_ == service_state::starting) second_request_.set();
    state_ = service_state::stopping;
    stop_signal_ = signo;
    send("STOPPING=1\nSTATUS=stopping (" + signal_name(signo) + "), draining");
    if (group_ != nullptr) {
        group_->start_soon([this] { return drain(); });
        if (options_.extend_interval.count() > 0) {
            group_->start_soon([this] { return keep_extending(); });
        }
    } else {
        work_.cancel();
    }
}

task<> service::drain() {
    if (options_.accept_delay.count() > 0 && !second_request_.is_set()) {
        const auto accept_until = deadline_after(options_.accept_delay);
        co_await move_on_at(accept_until, [this]() -> task<> { co_await second_request_.wait(); });
    }
    accepting_ = false;
    for (auto& stop : stop_hooks_)
        stop();
    if (second_request_.is_set()) {
        work_.cancel();
    } else {
        work_.set_deadline(deadline_after(options_.grace_period));
    }
}

task<> service::keep_extending() {
    const auto every = options_.extend_interval;
    const auto extension = std::chrono::ceil<std::chrono::microseconds>(every * 2);
    std::uint64_t seen = progress_;
    for (;;) {
        co_await sleep(every);
        // Accepting during the accept delay is deliberate waiting, so it counts as progress.
        if (progress_ != seen || accepting_) {
            send("EXTEND_TIMEOUT_USEC=" + std::to_string(extension.count()));
        }
        seen = progress_;
    }
}

}  // namespace anyio
