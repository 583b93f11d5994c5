#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <getopt.h>

namespace anyio_init {

namespace {

constexpr const char* version = "anyio-init v1.0.0 (dumb-init v1.2.5 compatible)";

void print_help(const char* self) {
    std::fprintf(stderr,
                 "%s\n"
                 "Usage: %s [option] command [[arg] ...]\n"
                 "\n"
                 "anyio-init runs one command as its child, forwards the signals it receives\n"
                 "to it, reaps every zombie and exits with the child's status. It is meant\n"
                 "to run as PID 1 in a container (drop-in for dumb-init).\n"
                 "\n"
                 "Optional arguments:\n"
                 "   -c, --single-child   Run in single-child mode: forward signals to the\n"
                 "                        child only, not to its process group, and start\n"
                 "                        no new session (also DUMB_INIT_SETSID=0).\n"
                 "   -r, --rewrite s:r    Forward received signal s as signal r (1..31).\n"
                 "                        r = 0 drops s. May be given several times.\n"
                 "   -v, --verbose        Log what happens to stderr (also DUMB_INIT_DEBUG=1).\n"
                 "   -h, --help           Print this help message and exit.\n"
                 "   -V, --version        Print the version and exit.\n",
                 version, self);
}

void print_rewrite_usage() {
    std::fputs(
        "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.\n"
        "This option can be specified multiple times.\n"
        "Use --help for full usage.\n",
        stderr);
}

// A whole decimal number in [low, high], or nothing.
std::optional<int> number(std::string_view text, int low, int high) {
    if (text.empty() || text.size() > 3) return std::nullopt;
    int value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value < low || value > high) return std::nullopt;
    return value;
}

bool add_rewrite(options& result, std::string_view spec) {
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos) return false;
    const auto from = number(spec.substr(0, colon), 1, max_signal);
    const auto to = number(spec.substr(colon + 1), 0, max_signal);
    if (!from || !to) return false;
    result.rewrite[static_cast<std::size_t>(*from)] = *to;
    return true;
}

bool env_is(const char* name, std::string_view value) {
    const char* set = std::getenv(name);
    return set != nullptr && value == set;
}

}  // namespace

std::variant<options, early_exit> parse(int argc, char** argv) {
    options result;
    result.rewrite.fill(-1);
    const option long_options[] = {
        {"single-child", no_argument, nullptr, 'c'}, {"rewrite", required_argument, nullptr, 'r'},
        {"verbose", no_argument, nullptr, 'v'},      {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},      {nullptr, 0, nullptr, 0},
    };
    const char* self = argc > 0 ? argv[0] : "anyio-init";
    // "+": options end at the first word that is not one, so the command's own options
    // are left alone. getopt reports unknown options itself, naming argv[0].
    int opt = 0;
    while ((opt = ::getopt_long(argc, argv, "+hvVcr:", long_options, nullptr)) != -1) {
        switch (opt) {
            case 'h':
                print_help(self);
                return early_exit{0};
            case 'V':
                std::fprintf(stderr, "%s\n", version);
                return early_exit{0};
            case 'v':
                result.verbose = true;
                break;
            case 'c':
                result.setsid = false;
                break;
            case 'r':
                if (!add_rewrite(result, optarg)) {
                    print_rewrite_usage();
                    return early_exit{1};
                }
                break;
            default:
                return early_exit{1};
        }
    }
    if (env_is("DUMB_INIT_DEBUG", "1")) result.verbose = true;
    if (env_is("DUMB_INIT_SETSID", "0")) result.setsid = false;
    if (optind >= argc) {
        std::fprintf(stderr,
                     "Usage: %s [option] program [args]\n"
                     "Try %s --help for full usage.\n",
                     self, self);
        return early_exit{1};
    }
    for (int i = optind; i < argc; ++i)
        result.command.emplace_back(argv[i]);
    return result;
}

}  // namespace anyio_init
