#pragma once
// The children whose exit status belongs to someone in this process: those the library
// started (open_process, run_process: each reaped through its pidfd) and those the program
// marked with anyio::own_child. The orphan reaper (src/process/reaper.cpp) reaps only the
// others, so it never steals a status somebody waits for.

#include <mutex>

#include <sys/types.h>

namespace anyio::detail::known_children {

// Held from before posix_spawn until the new child is registered: the reaper takes the
// same lock, so a child that exits at once cannot be taken for an orphan in between.
[[nodiscard]] std::unique_lock<std::mutex> lock();

// Registers / forgets a pid (counted: a pid the kernel reuses may be registered twice for
// a moment). `add` needs lock() held by the caller; `remove` takes it.
void add(pid_t pid);
void remove(pid_t pid) noexcept;

// With lock() held.
[[nodiscard]] bool contains(pid_t pid) noexcept;

}  // namespace anyio::detail::known_children
