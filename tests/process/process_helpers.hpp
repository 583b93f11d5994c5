#pragma once
// Test support for subprocess tests: argv vectors, what children this process has, and
// /proc status fields.

#include <anyio/anyio.hpp>

#include <string>
#include <vector>

#include <sys/types.h>

namespace anyio_test {

// An argv. g++ 12 cannot compile a braced list inside a co_await expression
// (`co_await anyio::run_process({"true"})`: "array used as initializer"), so the tests
// build their vectors with this instead.
template <class... Args>
std::vector<std::string> cmd(const Args&... args) {
    return {std::string(args)...};
}

// The pids of this process's children, zombies included (/proc/self/task/*/children).
std::vector<pid_t> children_of_this_process();

// True when `pid` is no child of ours any more, running or zombie: waitid on it fails with
// ECHILD.
bool is_reaped(pid_t pid);

// The value of a "Name:\tvalue" line of a /proc/<pid>/status text.
std::string status_field(const std::string& status, const std::string& name);

}  // namespace anyio_test
