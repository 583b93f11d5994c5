#pragma once
// anyio::task_id: the identity of a running task, for telling tasks apart (AnyIO's
// TaskInfo.id without the rest). It is what lock_statistics::owner reports.
//
// Unique among the tasks running at one time; like std::thread::id, a finished task's id
// may come back as a later task's. Read it on the task's loop thread.

#include <anyio/detail/runtime.hpp>

#include <cstddef>
#include <functional>

namespace anyio {

class task_id {
public:
    // No task.
    constexpr task_id() noexcept = default;

    // The task running now, or no task outside one.
    [[nodiscard]] static task_id current() noexcept { return task_id(detail::current_task()); }

    // False for no task.
    explicit operator bool() const noexcept { return id_ != nullptr; }
    friend bool operator==(task_id, task_id) noexcept = default;

    // The address a task's tokens are borrowed under, as capacity_limiter_statistics::
    // borrowers lists them.
    [[nodiscard]] const void* address() const noexcept { return id_; }

private:
    friend class lock;
    explicit task_id(const detail::task_state* task) noexcept : id_(task) {}

    const void* id_ = nullptr;
};

}  // namespace anyio

template <>
struct std::hash<anyio::task_id> {
    std::size_t operator()(anyio::task_id id) const noexcept {
        return std::hash<const void*>{}(id.address());
    }
};
