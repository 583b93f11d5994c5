#include <anyio/exceptions.hpp>
#include <anyio/task.hpp>

#include <cxxabi.h>

#include <typeinfo>

#include <string>
#include <utility>

namespace anyio {

namespace {
std::string describe(const std::exception_ptr& error) {
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
}  // namespace

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
        message_ += describe(error);
        separator = "; ";
    }
}

}  // namespace anyio
