#include "thread/loop_gate.hpp"

#include "core/loop.hpp"

#include <algorithm>
#include <utility>

namespace anyio::detail {

bool loop_gate::post(std::function<void()> fn) {
    {
        const std::lock_guard lock(mutex_);
        // Posting under the gate's lock: the loop cannot close (and die) in between.
        if (loop_ != nullptr) {
            loop_->post(std::move(fn));
            return true;
        }
    }
    return false;  // `fn` is destroyed outside the lock: it may own the last reference to a call
}

bool loop_gate::post_call(const std::shared_ptr<thread_request>& call, std::function<void()> fn) {
    {
        const std::lock_guard lock(mutex_);
        if (loop_ != nullptr) {
            in_flight_.push_back(call);
            loop_->post(std::move(fn));
            return true;
        }
    }
    return false;
}

void loop_gate::forget(const thread_request& call) noexcept {
    std::shared_ptr<thread_request> last;  // released outside the lock
    const std::lock_guard lock(mutex_);
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&call](const auto& p) { return p.get() == &call; });
    if (it != in_flight_.end()) {
        last = std::move(*it);
        *it = std::move(in_flight_.back());
        in_flight_.pop_back();
    }
}

void loop_gate::close(const error_factory& make_error) noexcept {
    std::vector<std::shared_ptr<thread_request>> orphans;
    {
        const std::lock_guard lock(mutex_);
        loop_ = nullptr;
        orphans.swap(in_flight_);
    }
    for (const auto& call : orphans)
        call->settle(make_error());
}

}  // namespace anyio::detail
