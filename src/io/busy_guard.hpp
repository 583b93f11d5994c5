#pragma once
// Marks an operation on a resource as running for its whole duration, so a concurrent
// second one is refused with busy_resource_error instead of racing for the same bytes (or
// connections). Loop thread only.

#include <anyio/exceptions.hpp>

namespace anyio::detail {

class busy_guard {
public:
    busy_guard(bool& flag, const char* message) : flag_(flag) {
        if (flag_) throw busy_resource_error(message);
        flag_ = true;
    }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;
    ~busy_guard() { flag_ = false; }

private:
    bool& flag_;
};

}  // namespace anyio::detail
