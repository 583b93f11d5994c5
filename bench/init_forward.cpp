// How long an init takes to pass a signal on: SIGUSR1 sent to the init until its child
// has it, for anyio-init against tini and dumb-init, in the same run. The child (this
// program with --child) blocks SIGUSR1, takes it with sigwaitinfo and answers with a byte
// on its stdout, a pipe the driver reads: one round trip is kill() to that byte. Each
// init forwards to its child only (anyio-init -c, dumb-init -c, tini -s: tini's default,
// as a child subreaper since it is not PID 1 here). Rounds alternate between the inits.
//
//   build/release/bench/init_forward build/release/tools/anyio-init/anyio-init [N]

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void child() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    const char ready = 'r';
    if (write(STDOUT_FILENO, &ready, 1) != 1) std::_Exit(1);
    for (;;) {
        if (sigwaitinfo(&set, nullptr) != SIGUSR1) continue;
        const char got = 'g';
        if (write(STDOUT_FILENO, &got, 1) != 1) std::_Exit(1);
    }
}

struct init_under_test {
    std::string name;
    std::vector<std::string> argv;  // the init and its options, before the child
    std::vector<double> samples_us;
};

void read_byte(int fd) {
    char c = 0;
    if (read(fd, &c, 1) != 1) {
        std::fprintf(stderr, "init_forward: the child's pipe closed\n");
        std::exit(1);
    }
}

void run_round(init_under_test& init, const std::string& self, int round_trips) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) std::exit(1);
    std::vector<std::string> argv = init.argv;
    argv.push_back(self);
    argv.push_back("--child");
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        std::perror(args[0]);
        std::_Exit(127);
    }
    close(pipe_fds[1]);
    read_byte(pipe_fds[0]);  // the child blocks SIGUSR1; the init forwards from its start
    for (int i = 0; i < round_trips; ++i) {
        const auto start = clock_type::now();
        kill(pid, SIGUSR1);
        read_byte(pipe_fds[0]);
        const std::chrono::duration<double, std::micro> took = clock_type::now() - start;
        init.samples_us.push_back(took.count());
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(pipe_fds[0]);
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--child") child();
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s path/to/anyio-init [round trips]\n", argv[0]);
        return 2;
    }
    const int total = argc > 2 ? std::atoi(argv[2]) : 1000;
    constexpr int rounds = 10;
    std::vector<init_under_test> inits = {
        {"anyio-init", {argv[1], "-c"}, {}},
        {"tini", {"/usr/bin/tini", "-s", "--"}, {}},
        {"dumb-init", {"/usr/bin/dumb-init", "-c"}, {}},
    };
    std::string self = argv[0];
    for (int round = 0; round < rounds; ++round) {
        for (auto& init : inits)
            run_round(init, self, total / rounds);
    }
    std::printf("%-12s %10s %10s %10s %12s\n", "init", "median_us", "p10_us", "p90_us", "vs_anyio");
    const double ours = percentile(inits[0].samples_us, 0.5);
    for (const auto& init : inits) {
        const double median = percentile(init.samples_us, 0.5);
        std::printf("%-12s %10.2f %10.2f %10.2f %11.2fx\n", init.name.c_str(), median,
                    percentile(init.samples_us, 0.1), percentile(init.samples_us, 0.9),
                    median / ours);
    }
    return 0;
}
