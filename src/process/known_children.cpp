#include "process/known_children.hpp"

#include <unordered_map>

namespace anyio::detail::known_children {

namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

// pid -> registrations; guarded by registry_mutex().
std::unordered_map<pid_t, int>& pids() {
    static std::unordered_map<pid_t, int> map;
    return map;
}

}  // namespace

std::unique_lock<std::mutex> lock() {
    return std::unique_lock<std::mutex>(registry_mutex());
}

void add(pid_t pid) {
    ++pids()[pid];
}

void remove(pid_t pid) noexcept {
    const std::lock_guard guard(registry_mutex());
    const auto found = pids().find(pid);
    if (found == pids().end()) return;
    if (--found->second == 0) pids().erase(found);
}

bool contains(pid_t pid) noexcept {
    return pids().contains(pid);
}

}  // namespace anyio::detail::known_children
