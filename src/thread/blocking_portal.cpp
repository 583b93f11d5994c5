#include <anyio/blocking_portal.hpp>

#include <anyio/cancel_scope.hpp>
#include <anyio/run.hpp>
#include <anyio/task_group.hpp>

#include "core/loop.hpp"
#include "thread/loop_gate.hpp"
#include "thread/request_inbox.hpp"
#include "thread/signal_mask.hpp"
#include "thread/thread_errors.hpp"
#include "thread/thread_support.hpp"

#include <atomic>
#include <exception>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace anyio {

namespace detail {

namespace {

std::exception_ptr stopped_error() {
    return std::make_exception_ptr(
        closed_resource_error("anyio::blocking_portal: the portal has stopped"));
}

// What the portal's loop and the threads calling into it share.
struct portal_shared {
    // Portal loop thread only: calls waiting for the host task, and the host's group scope.
    request_inbox inbox;
    cancel_scope* group_scope = nullptr;
    // Written by the portal thread before it reports that it runs (the promise publishes
    // it), read-only afterwards.
    std::shared_ptr<loop_gate> gate;
};

// The portal loop's main task: starts every call as a child of one task group until the
// inbox closes (stop), then refuses whatever still arrives.
task<void> host(std::shared_ptr<portal_shared> shared, std::promise<void>& running) {
    std::shared_ptr<loop_gate> gate = loop::current()->threads().gate;
    co_await with_task_group([&](task_group& group) -> task<void> {
        shared->group_scope = &group.cancel_scope();
        shared->gate = gate;
        running.set_value();
        co_await shared->inbox.serve(group);
    });
    shared->group_scope = nullptr;
    gate->close(&stopped_error);
}

}  // namespace

class portal_core {
public:
    portal_core() : shared_(std::make_shared<portal_shared>()) {
        std::promise<void> running;
        std::future<void> started = running.get_future();
        {
            // The portal thread inherits the blocked mask before it runs anything.
            const async_signals_blocked blocked;
            thread_ = std::thread(
                [shared = shared_](std::promise<void> ready) {
                    // Ctrl+C stays with the program: the portal's loop claims no signal.
                    try {
                        run_on_new_loop(host(shared, ready), run_options{}, false);
                    } catch (...) {
                        try {
                            ready.set_exception(std::current_exception());
                        } catch (const std::future_error&) {
                            // The portal was running: whatever ended it afterwards has
                            // nobody to report to (calls are settled through the gate).
                        }
                    }
                },
                std::move(running));
        }
        thread_id_ = thread_.get_id();
        try {
            started.get();
        } catch (...) {
            thread_.join();
            throw;
        }
    }
    portal_core(const portal_core&) = delete;
    portal_core& operator=(const portal_core&) = delete;
    ~portal_core() = default;

    void submit(const std::shared_ptr<thread_request>& call, const char* what) {
        refuse_on_portal_thread(what);
        if (stopped_.load()) throw_stopped(what);
        call->gate = shared_->gate;
        const bool posted =
            shared_->gate->post_call(call, [shared = shared_, call] { shared->inbox.push(call); });
        if (!posted) throw_stopped(what);
    }

    void stop(bool cancel_remaining) {
        refuse_on_portal_thread("anyio::blocking_portal::stop");
        // stopped_: other threads' submit() reads it to fail fast; the gate decides.
        if (!stopped_.exchange(true)) {
            shared_->gate->post([shared = shared_, cancel_remaining] {
                shared->inbox.close(&stopped_error);
                if (cancel_remaining) {
                    shared->inbox.fail_pending(&cancelled_error);
                    if (shared->group_scope != nullptr) shared->group_scope->cancel();
                }
            });
        }
        const std::lock_guard lock(join_mutex_);
        if (thread_.joinable()) thread_.join();
    }

    [[nodiscard]] bool running() const noexcept { return !stopped_.load(); }

private:
    void refuse_on_portal_thread(const char* what) const {
        if (std::this_thread::get_id() == thread_id_) {
            throw std::logic_error(std::string(what) +
                                   " called on the portal's own thread: it would wait for "
                                   "itself; await the task directly");
        }
    }
    [[noreturn]] static void throw_stopped(const char* what) {
        throw closed_resource_error(std::string(what) + ": the portal has stopped");
    }

    std::shared_ptr<portal_shared> shared_;
    std::thread thread_;
    std::thread::id thread_id_;
    // Set by the first stop(); read by submit() on any thread.
    std::atomic<bool> stopped_{false};
    std::mutex join_mutex_;  // a second stop() waits for the first one's join
};

}  // namespace detail

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

void blocking_portal::submit(const std::shared_ptr<detail::thread_request>& call,
                             const char* what) {
    if (!core_) throw std::logic_error(std::string(what) + ": the portal was moved from");
    core_->submit(call, what);
}

void blocking_portal::stop(bool cancel_remaining) {
    if (!core_) throw std::logic_error("anyio::blocking_portal::stop: the portal was moved from");
    core_->stop(cancel_remaining);
}

bool blocking_portal::running() const noexcept {
    return core_ && core_->running();
}

blocking_portal start_blocking_portal() {
    return blocking_portal(std::make_unique<detail::portal_core>());
}

}  // namespace anyio
