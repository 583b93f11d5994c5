// A child for the PID 1 tests, built without the library so that it tests only the init
// or library program in front of it:
//   pid1_child signals        prints "ready", then "got N" for each signal it receives
//                             (SIGINT and SIGQUIT: then exits 128 + N; SIGTERM: default)
//   pid1_child group N        the same in a leader and N members of its process group
//                             ("member I ready", "member I got N")
//   pid1_child orphans N      orphans N grandchildren that exit once their parent has
//                             exited; exits 7 after they all have
//   pid1_child orphans-then-signals N   the same, then as `signals`
//   pid1_child exit N         exits with status N

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

sigset_t watched() {
    sigset_t set;
    sigemptyset(&set);
    for (const int signo : {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH})
        sigaddset(&set, signo);
    return set;
}

[[noreturn]] void report_signals(const std::string& who) {
    const sigset_t set = watched();
    std::printf("%sready\n", who.c_str());
    std::fflush(stdout);
    for (;;) {
        const int signo = sigwaitinfo(&set, nullptr);
        if (signo < 0) continue;
        std::printf("%sgot %d\n", who.c_str(), signo);
        std::fflush(stdout);
        if (signo == SIGINT || signo == SIGQUIT) std::_Exit(128 + signo);
    }
}

void make_orphans(int n) {
    int release[2];  // grandchildren wait for EOF: their parent's exit
    int done[2];     // EOF once every grandchild has exited
    if (pipe(release) != 0 || pipe(done) != 0) std::_Exit(100);
    const pid_t middle = fork();
    if (middle == 0) {
        close(done[0]);
        for (int i = 0; i < n; ++i) {
            if (fork() == 0) {
                close(release[1]);
                char c = 0;
                while (read(release[0], &c, 1) > 0) {
                }
                std::_Exit(0);  // an orphan by now; `done` closes with it
            }
        }
        std::_Exit(0);
    }
    close(release[0]);
    close(release[1]);
    close(done[1]);
    int status = 0;
    waitpid(middle, &status, 0);
    char c = 0;
    while (read(done[0], &c, 1) > 0) {
    }
    std::printf("orphans exited\n");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const sigset_t set = watched();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    const std::string mode = argc > 1 ? argv[1] : "";
    const int n = argc > 2 ? std::atoi(argv[2]) : 0;
    if (mode == "signals") report_signals("");
    if (mode == "group") {
        for (int i = 1; i <= n; ++i) {
            if (fork() == 0) report_signals("member " + std::to_string(i) + " ");
        }
        report_signals("");
    }
    if (mode == "orphans") {
        make_orphans(n);
        return 7;
    }
    if (mode == "orphans-then-signals") {
        make_orphans(n);
        report_signals("");
    }
    if (mode == "exit") return n;
    std::fprintf(stderr, "pid1_child: unknown mode\n");
    return 100;
}
