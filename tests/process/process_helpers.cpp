#include "process/process_helpers.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>

namespace anyio_test {

std::vector<pid_t> children_of_this_process() {
    std::vector<pid_t> pids;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream in(task.path() / "children");
        pid_t pid = 0;
        while (in >> pid)
            pids.push_back(pid);
    }
    return pids;
}

bool is_reaped(pid_t pid) {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
           errno == ECHILD;
}

std::string status_field(const std::string& status, const std::string& name) {
    std::istringstream lines(status);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(name + ":", 0) == 0) {
            const auto value = line.find_first_not_of(" \t", name.size() + 1);
            return value == std::string::npos ? std::string() : line.substr(value);
        }
    }
    return "(no " + name + " line)";
}

}  // namespace anyio_test
