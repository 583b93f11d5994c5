#pragma once
// Errors that settle thread calls which can no longer run. Each call gets an exception
// object of its own (a factory, not one shared exception_ptr): waiting threads rethrow
// and free it independently, and the object's reference count lives in the C++ runtime,
// where ThreadSanitizer cannot see it order two threads.

#include <anyio/exceptions.hpp>

#include <exception>

namespace anyio::detail {

using error_factory = std::exception_ptr (*)();

inline std::exception_ptr cancelled_error() {
    return std::make_exception_ptr(cancelled{});
}

}  // namespace anyio::detail
