#include <anyio/exceptions.hpp>

#include <string.h>

#include <string>
#include <utility>

namespace anyio {

namespace {

// The command as a shell would need it typed (like Python's shlex.join).
std::string quoted(const std::vector<std::string>& argv) {
    std::string text;
    for (const std::string& arg : argv) {
        if (!text.empty()) text += ' ';
        const bool plain =
            !arg.empty() && arg.find_first_not_of(
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789@%+=:,./-_") == std::string::npos;
        if (plain) {
            text += arg;
            continue;
        }
        text += '\'';
        for (const char c : arg) {
            if (c == '\'') {
                text += "'\\''";
            } else {
                text += c;
            }
        }
        text += '\'';
    }
    return text;
}

std::string describe(int returncode, const std::vector<std::string>& argv) {
    std::string text = "anyio: command [" + quoted(argv) + "] ";
    if (returncode >= 0)
        return text + "returned non-zero exit status " + std::to_string(returncode);
    const char* name = ::sigabbrev_np(-returncode);
    return text + "died with signal " + std::to_string(-returncode) +
           (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
}

}  // namespace

called_process_error::called_process_error(int returncode, std::vector<std::string> argv,
                                           std::string stdout_data, std::string stderr_data)
    : std::runtime_error(describe(returncode, argv)),
      returncode_(returncode),
      output_(std::make_shared<const output>(
          output{std::move(argv), std::move(stdout_data), std::move(stderr_data)})) {}

}  // namespace anyio
