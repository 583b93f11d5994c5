#include <anyio/from_thread.hpp>

#include <anyio/to_thread.hpp>

#include "core/loop.hpp"

#include <stdexcept>
#include <string>

namespace anyio {

namespace detail {

namespace {
// The to_thread job running on this thread; std::logic_error naming `what` elsewhere.
worker_job& current_worker(const char* what) {
    if (loop::current() != nullptr) {
        throw std::logic_error(std::string(what) +
                               " called on an event loop's thread: it is for a worker thread "
                               "started by anyio::to_thread::run_sync (a task awaits the call "
                               "directly, or checks with anyio::checkpoint_if_cancelled())");
    }
    worker_job* job = worker_job::current();
    if (job == nullptr) {
        throw std::logic_error(std::string(what) +
                               " must be called from a worker thread started by "
                               "anyio::to_thread::run_sync");
    }
    return *job;
}
}  // namespace

void submit_from_worker(const std::shared_ptr<thread_request>& call, const char* what) {
    current_worker(what).deliver(call);
}

}  // namespace detail

void from_thread::check_cancelled() {
    detail::current_worker("anyio::from_thread::check_cancelled").check_cancelled();
}

}  // namespace anyio
