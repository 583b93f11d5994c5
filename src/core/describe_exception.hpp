#pragma once
// One line for an exception in a message: what() of a std::exception or of anyio's
// non-std exceptions (cancelled, keyboard_interrupt), else "unknown exception".

#include <exception>
#include <string>

namespace anyio::detail {

[[nodiscard]] std::string describe_exception(const std::exception_ptr& error);

}  // namespace anyio::detail
