// Signals as an asynchronous stream: coalescing, first-arrival order, sender details,
// fan-out to every receiver, real-time signals with their values, the previous handler
// restored, and a child that starts with default dispositions.
#include <anyio/anyio.hpp>

#include <csignal>
#include <cstdio>

#include <sys/wait.h>
#include <unistd.h>

anyio::task<> main_task() {
    std::signal(SIGUSR2, SIG_IGN);  // what was there before: restored at the last close
    {
        anyio::signal_receiver signals = anyio::open_signal_receiver(SIGUSR1, SIGUSR2);
        anyio::signal_receiver audit = anyio::open_signal_receiver(SIGUSR1);

        // Three SIGUSR1 then one SIGUSR2 arrive before anyone receives.
        kill(getpid(), SIGUSR1);
        kill(getpid(), SIGUSR1);
        kill(getpid(), SIGUSR1);
        kill(getpid(), SIGUSR2);

        // Repeats of a pending signal merge into one item; items come in arrival order.
        anyio::signal_info first = co_await signals.receive_info();
        std::printf("signal %d x%llu, %llu request(s), sent by this process: %s\n", first.signo,
                    static_cast<unsigned long long>(first.count),
                    static_cast<unsigned long long>(first.requests),
                    first.pid == getpid() ? "yes" : "no");
        int second = co_await signals.receive();
        std::printf("then signal %d\n", second);

        // Fan-out: the other receiver of SIGUSR1 got it too.
        int audited = co_await audit.receive();
        std::printf("audit saw signal %d\n", audited);
    }  // both closed: SIGUSR2 is ignored again, SIGUSR1 back at its default

    struct sigaction now {};
    sigaction(SIGUSR2, nullptr, &now);
    std::printf("SIGUSR2 ignored again: %s\n", now.sa_handler == SIG_IGN ? "yes" : "no");

    // Real-time signals are queued one item per occurrence, each with its value.
    const int rt = SIGRTMIN + 1;
    anyio::signal_receiver realtime = anyio::open_signal_receiver(rt);
    for (int value : {7, 8}) {
        sigval v{};
        v.sival_int = value;
        sigqueue(getpid(), rt, v);
        // Not needed but under ThreadSanitizer, which holds back a signal until the next
        // call it intercepts and drops a second one of the same number meanwhile.
        co_await anyio::checkpoint();
    }
    for (int i = 0; i < 2; ++i) {
        anyio::signal_info item = co_await realtime.receive_info();
        std::printf("SIGRTMIN+1 with value %d (count %llu)\n", item.value.sival_int,
                    static_cast<unsigned long long>(item.count));
    }

    // Forking and execing by hand: reset in the child, so the new program starts with
    // default dispositions and an empty signal mask whatever this process had.
    std::fflush(stdout);  // or the child's output could come before ours
    const pid_t child = fork();
    if (child == 0) {
        anyio::reset_signals_for_child();
        execlp("grep", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", nullptr);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);  // blocks the loop: fine here, see processes.md instead
}

int main() {
    return anyio::run_main(main_task);
}
