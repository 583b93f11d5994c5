#pragma once
// The error every file and path operation throws for a failed system call: a
// filesystem_error whose what() names the operation, the cause and the path.

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace anyio::detail {

[[noreturn]] inline void throw_fs_error(const char* operation, const std::filesystem::path& path,
                                        int error = errno) {
    throw std::filesystem::filesystem_error(std::string("anyio: ") + operation, path,
                                            std::error_code(error, std::generic_category()));
}

[[noreturn]] inline void throw_fs_error(const char* operation, const std::filesystem::path& path,
                                        const std::filesystem::path& other, int error = errno) {
    throw std::filesystem::filesystem_error(std::string("anyio: ") + operation, path, other,
                                            std::error_code(error, std::generic_category()));
}

}  // namespace anyio::detail
