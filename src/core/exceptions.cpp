#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include "core/describe_exception.hpp"

#include <cxxabi.h>

#include <typeinfo>

#include <string>
#include <utility>

namespace anyio {

namespace detail {
std::string describe_exception(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (const cancelled& e) {
        return e.what();
    } catch (const keyboard_interrupt& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}
}  // namespace detail

namespace detail {
bool current_exception_is_cancelled() noexcept {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr && *type == typeid(cancelled);
}
}  // namespace detail

exception_group::exception_group(std::vector<std::exception_ptr> errors)
    : errors_(std::move(errors)) {
    message_ = "anyio::exception_group: " + std::to_string(errors_.size()) +
               (errors_.size() == 1 ? " failure" : " failures");
    const char* separator = ": ";
    for (const auto& error : errors_) {
        message_ += separator;
        message_ += detail::describe_exception(error);
        separator = "; ";
    }
}

const exception_group* exception_group::as_group(const std::exception_ptr& error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const exception_group& group) {
        // The exception object lives as long as `error` does (exception_ptr shares it).
        return &group;
    } catch (...) {
        return nullptr;
    }
}

std::exception_ptr exception_group::group_of(std::vector<std::exception_ptr> errors) {
    if (errors.empty()) return nullptr;
    return std::make_exception_ptr(exception_group(std::move(errors)));
}

std::vector<std::exception_ptr> exception_group::leaves() const {
    std::vector<std::exception_ptr> all;
    for_each_leaf([&](const std::exception_ptr& leaf) { all.push_back(leaf); });
    return all;
}

}  // namespace anyio
