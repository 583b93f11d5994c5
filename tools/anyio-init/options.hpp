#pragma once
// anyio-init's command line, as dumb-init reads it: options up to the first word that is
// not one, then the command.

#include <array>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace anyio_init {

constexpr int max_signal = 31;  // the standard signals: those dumb-init handles

struct options {
    std::vector<std::string> command;
    // Forward to the child's whole process group in a new session (dumb-init's default),
    // or only to the child (-c, or DUMB_INIT_SETSID=0).
    bool setsid = true;
    bool verbose = false;
    // rewrite[s] is the signal sent for a received s (0: dropped); -1 where not rewritten.
    std::array<int, max_signal + 1> rewrite{};
};

// What parse decided when the program should not run a command.
struct early_exit {
    int status;
};

// Parses argv and the environment (DUMB_INIT_SETSID, DUMB_INIT_DEBUG); prints help,
// version and errors to stderr as dumb-init does and returns the exit status to leave
// with (0 for -h/-V, 1 for bad input) instead of options.
[[nodiscard]] std::variant<options, early_exit> parse(int argc, char** argv);

}  // namespace anyio_init
