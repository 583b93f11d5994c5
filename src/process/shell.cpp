// open_process(command): a shell command line, run by /bin/sh -c.
#include <anyio/process.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace anyio::detail {

task<process> open_shell_process(std::string command, process_options options) {
    if (command.empty()) throw std::invalid_argument("anyio::open_process: command is empty");
    // An absolute path: the shell must not depend on the PATH search (nor on a PATH the
    // caller changed).
    std::vector<std::string> argv = {"/bin/sh", "-c", std::move(command)};
    co_return co_await open_process(std::move(argv), std::move(options));
}

}  // namespace anyio::detail
