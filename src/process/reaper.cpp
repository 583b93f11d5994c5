// The orphan reaper: reaps ended children that nobody in the process waits for (the rule
// is written in include/anyio/reap.hpp). Serialised with spawns and library reaps by
// known_children::lock(), so a child is either known before it can be seen ended, or is
// nobody's.

#include <anyio/reap.hpp>

#include "process/known_children.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace anyio {

namespace {

// Reaps `pid` if it has ended; true if it did.
bool reap_if_ended(pid_t pid) noexcept {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) != 0) {
        if (errno != EINTR) return false;
    }
    return info.si_pid == pid;
}

// Every child of every thread of this process (children belong to the thread that
// started them; any thread of the group may wait for them).
std::vector<pid_t> all_children() {
    std::vector<pid_t> result;
    DIR* tasks = ::opendir("/proc/self/task");
    if (tasks == nullptr) return result;
    while (const dirent* entry = ::readdir(tasks)) {
        if (entry->d_name[0] == '.') continue;
        std::ifstream in(std::string("/proc/self/task/") + entry->d_name + "/children");
        long pid = 0;
        while (in >> pid)
            result.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(tasks);
    return result;
}

// The slow path: the first zombie in line is somebody's; try each other child.
std::size_t reap_behind_known() {
    std::size_t reaped = 0;
    for (const pid_t pid : all_children()) {
        if (detail::known_children::contains(pid)) continue;
        if (reap_if_ended(pid)) ++reaped;
    }
    return reaped;
}

}  // namespace

bool is_pid1() noexcept {
    return ::getpid() == 1;
}

void become_child_subreaper() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "anyio::become_child_subreaper: prctl(PR_SET_CHILD_SUBREAPER)");
    }
}

std::size_t reap_orphans_now() noexcept {
    const auto registry = detail::known_children::lock();
    std::size_t reaped = 0;
    for (;;) {
        siginfo_t info{};
        // Look without reaping: the status of a known child must stay for its owner.
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) continue;
            return reaped;  // ECHILD: no children at all
        }
        if (info.si_pid == 0) return reaped;  // none has ended
        if (detail::known_children::contains(info.si_pid)) {
            try {
                return reaped + reap_behind_known();
            } catch (...) {
                return reaped;  // out of memory: the next SIGCHLD tries again
            }
        }
        if (reap_if_ended(info.si_pid)) ++reaped;
    }
}

own_child::own_child(pid_t pid) : pid_(pid) {
    const auto registry = detail::known_children::lock();
    detail::known_children::add(pid);
}

own_child::own_child(own_child&& other) noexcept : pid_(std::exchange(other.pid_, 0)) {}

own_child& own_child::operator=(own_child&& other) noexcept {
    if (this != &other) {
        if (pid_ != 0) detail::known_children::remove(pid_);
        pid_ = std::exchange(other.pid_, 0);
    }
    return *this;
}

own_child::~own_child() {
    if (pid_ != 0) detail::known_children::remove(pid_);
}

}  // namespace anyio
