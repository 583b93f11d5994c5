// anyio-init: runs one command as its child, forwards the signals it receives to it (to
// its whole process group by default), reaps every zombie, and exits with the child's
// status. dumb-init's command line and exit codes, so it can stand in for it:
//
//     ENTRYPOINT ["/usr/local/bin/anyio-init", "--"]
//     CMD ["my-server", "--port", "8080"]
//
// Built on the library: signals arrive through one anyio::signal_receiver, the child is an
// anyio::process (watched through its pidfd), and anyio::run reaps the orphans (as PID 1,
// or as a child subreaper otherwise). docs/api/pid1.md explains the rules.

#include "options.hpp"

#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <system_error>
#include <variant>
#include <vector>

#include <unistd.h>

namespace anyio_init {

namespace {

bool verbose = false;

void log(const char* format, ...) __attribute__((format(printf, 1, 2)));
void log(const char* format, ...) {
    if (!verbose) return;
    std::va_list args;
    va_start(args, format);
    std::fputs("[anyio-init] ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
}

// Every standard signal a process can catch and be sent asynchronously. SIGKILL and
// SIGSTOP cannot be caught; the synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL) are
// the init's own crash, not a request to forward.
std::vector<int> forwarded_signals() {
    std::vector<int> result;
    for (int signo = 1; signo <= max_signal; ++signo) {
        switch (signo) {
            case SIGKILL:
            case SIGSTOP:
            case SIGSEGV:
            case SIGBUS:
            case SIGFPE:
            case SIGILL:
                continue;
            default:
                result.push_back(signo);
        }
    }
    return result;
}

bool is_job_control(int signo) {
    return signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU;
}

// What `signo` is forwarded as: the -r rewrite, else SIGSTOP for the job-control signals
// in a new session (the child's process group is orphaned there, so the kernel would
// not stop it for SIGTSTP at its default disposition), else itself. 0: dropped.
int forwarded_as(const options& opts, int signo) {
    const int rewritten = opts.rewrite[static_cast<std::size_t>(signo)];
    if (rewritten >= 0) return rewritten;
    if (opts.setsid && is_job_control(signo)) return SIGSTOP;
    return signo;
}

void forward(const options& opts, anyio::process& child, int signo) {
    const int as = forwarded_as(opts, signo);
    if (as == 0) {
        log("Not forwarding signal %d to children (ignored).", signo);
        return;
    }
    if (opts.setsid) {
        ::kill(-child.pid(), as);  // the child leads its session's process group
    } else {
        child.send_signal(as);
    }
    log("Forwarded signal %d to children.", as);
}

int status_of(int returncode) {
    return returncode >= 0 ? returncode : 128 - returncode;
}

anyio::task<int> supervise(const options& opts) {
    // Open before the child exists, so no signal meant for it falls between the two.
    auto signals = anyio::open_signal_receiver(forwarded_signals());
    anyio::process_options spawn;
    spawn.stdin_from = anyio::stdio::inherit();
    spawn.stdout_to = anyio::stdio::inherit();
    spawn.stderr_to = anyio::stdio::inherit();
    spawn.start_new_session = opts.setsid;
    spawn.inherit_service_environment = true;  // a transparent init hides nothing
    std::optional<anyio::process> started;
    try {
        started.emplace(co_await anyio::open_process(opts.command, spawn));
    } catch (const std::system_error& e) {
        // The command cannot be executed: dumb-init's message and status.
        std::fprintf(stderr, "[anyio-init] %s: %s\n", opts.command.front().c_str(),
                     std::strerror(e.code().value()));
        co_return 2;
    }
    anyio::process& child = *started;
    log("Child spawned with PID %d.", static_cast<int>(child.pid()));
    for (;;) {
        const int signo = co_await signals.receive();
        log("Received signal %d.", signo);
        if (signo == SIGCHLD) {
            const std::optional<int> returncode = child.returncode();
            if (!returncode) continue;  // an orphan: anyio::run's reaper has it
            if (*returncode >= 0) {
                log("A child with PID %d exited with exit status %d.",
                    static_cast<int>(child.pid()), *returncode);
            } else {
                log("A child with PID %d was terminated by signal %d.",
                    static_cast<int>(child.pid()), -*returncode);
            }
            if (opts.setsid) {
                // What the child left running in its group ends with it.
                ::kill(-child.pid(), SIGTERM);
                log("Forwarded signal %d to children.", SIGTERM);
            }
            const int status = status_of(*returncode);
            log("Child exited with status %d. Goodbye.", status);
            co_return status;
        }
        forward(opts, child, signo);
        if (is_job_control(signo)) {
            log("Suspending self due to TTY signal.");
            ::kill(::getpid(), SIGSTOP);  // resumes on SIGCONT, which is then forwarded
        }
    }
}

}  // namespace

}  // namespace anyio_init

int main(int argc, char** argv) {
    auto parsed = anyio_init::parse(argc, argv);
    if (const auto* done = std::get_if<anyio_init::early_exit>(&parsed)) return done->status;
    const auto& opts = std::get<anyio_init::options>(parsed);
    anyio_init::verbose = opts.verbose;
    anyio::run_options run;
    // As PID 1 the run reaps every orphan anyway; elsewhere the init becomes a child
    // subreaper, so the orphans of its child's tree come to it and are reaped too.
    run.reap_orphans = anyio::orphan_reaping::always;
    return anyio::run(run, anyio_init::supervise, std::cref(opts));
}
