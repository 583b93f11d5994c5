#include <anyio/from_thread.hpp>

#include <anyio/to_thread.hpp>

#include "core/loop.hpp"

#include <stdexcept>
#include <string>

namespace anyio::detail {

void submit_from_worker(const std::shared_ptr<thread_request>& call, const char* what) {
    if (loop::current() != nullptr) {
        throw std::logic_error(std::string(what) +
                               " called on an event loop's thread: it would block the loop "
                               "that must run the call; await the task (or call the "
                               "function) directly");
    }
    worker_job* job = worker_job::current();
    if (job == nullptr) {
        throw std::logic_error(std::string(what) +
                               " must be called from a worker thread started by "
                               "anyio::to_thread::run_sync");
    }
    job->deliver(call);
}

}  // namespace anyio::detail
