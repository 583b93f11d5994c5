#pragma once
// Test support: how many file descriptors this process has open, for leak checks.

#include <cstddef>
#include <filesystem>

namespace anyio_test {

inline std::size_t open_fd_count() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
    return count;
}

}  // namespace anyio_test
