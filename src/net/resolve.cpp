#include "net/resolve.hpp"

#include <anyio/exceptions.hpp>
#include <anyio/time.hpp>

#include "io/fd_watch.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace anyio::detail {

namespace {

struct lookup_result {
    int status = 0;
    int system_errno = 0;  // for EAI_SYSTEM
    std::vector<socket_address> addresses;
};

// getaddrinfo for stream sockets; blocks for as long as DNS takes unless `numeric_only`.
lookup_result lookup(const std::string& host, int port, bool passive, bool numeric_only) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags =
        AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (numeric_only ? AI_NUMERICHOST : 0);
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    lookup_result result;
    result.status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    result.system_errno = errno;
    if (result.status != 0) return result;
    const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
            result.addresses.emplace_back(a->ai_addr, a->ai_addrlen);
        }
    }
    if (result.addresses.empty()) result.status = EAI_NONAME;
    return result;
}

[[noreturn]] void throw_resolve_error(const std::string& host, const lookup_result& result) {
    const std::string reason = result.status == EAI_SYSTEM ? std::strerror(result.system_errno)
                                                           : ::gai_strerror(result.status);
    throw resolve_error(host, result.status, "anyio: cannot resolve \"" + host + "\": " + reason);
}

// A name lookup running on a thread of its own. The thread reports through an eventfd that
// the waiting task watches in the loop's epoll, never through the loop itself, so a lookup
// abandoned by a cancelled task (even one whose loop has ended since) costs nothing but its
// thread's time.
//
// Who closes the eventfd: the waiting task, as soon as it has read the thread's write (the
// thread never touches the descriptor after writing), so nothing lingers once resolve()
// returns; if the task abandons the lookup, whichever side comes second.
struct lookup_job {
    enum phase : int { running, written, collected, abandoned };

    lookup_job(std::string h, int p, bool pass) : host(std::move(h)), port(p), passive(pass) {
        done_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (done_fd < 0) throw std::system_error(errno, std::generic_category(), "anyio: eventfd");
    }
    lookup_job(const lookup_job&) = delete;
    lookup_job& operator=(const lookup_job&) = delete;
    ~lookup_job() = default;

    // Lookup thread.
    void run() noexcept {
        result = lookup(host, port, passive, false);
        result_ready.store(true, std::memory_order_release);
        const std::uint64_t one = 1;
        (void)!::write(done_fd, &one, sizeof one);
        if (state.exchange(written, std::memory_order_acq_rel) == abandoned) ::close(done_fd);
    }

    // Loop thread: true once the thread's write arrived (then `result` is complete and the
    // eventfd is the loop's to close, with close_collected()).
    bool collect() noexcept {
        std::uint64_t count = 0;
        if (::read(done_fd, &count, sizeof count) != sizeof count) return false;
        while (!result_ready.load(std::memory_order_acquire))
            std::this_thread::yield();
        state.store(collected, std::memory_order_release);
        return true;
    }
    void close_collected() const noexcept { ::close(done_fd); }

    // Loop thread: the waiting task gives up before collecting.
    void abandon() noexcept {
        if (state.exchange(abandoned, std::memory_order_acq_rel) == written) ::close(done_fd);
    }

    const std::string host;
    const int port;
    const bool passive;
    int done_fd = -1;
    lookup_result result;  // written by the thread before result_ready
    // Set (release) by the lookup thread once `result` is written; read (acquire) by the
    // loop thread after the eventfd said so, before it reads `result`.
    std::atomic<bool> result_ready{false};
    // The eventfd's fate: the lookup thread moves it to `written` after its write; the loop
    // thread to `collected` (it closed the fd) or `abandoned`. The second of the thread's
    // `written` and the loop's `abandoned` closes the fd.
    std::atomic<int> state{running};
};

// Starts `job` on a new thread that blocks every asynchronous signal (it inherits the mask
// in force at its creation), so process-directed signals go to threads that handle them.
void start_lookup_thread(const std::shared_ptr<lookup_job>& job) {
    sigset_t all;
    sigfillset(&all);
    for (int synchronous : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) {
        sigdelset(&all, synchronous);
    }
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    try {
        std::thread([job] { job->run(); }).detach();
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

// The waiting side of a lookup: watches the job's eventfd (without owning it) and abandons
// the job if it goes away before collecting.
class lookup_waiter {
public:
    explicit lookup_waiter(std::shared_ptr<lookup_job> job)
        : job_(std::move(job)), watch_(job_->done_fd) {}
    lookup_waiter(const lookup_waiter&) = delete;
    lookup_waiter& operator=(const lookup_waiter&) = delete;
    ~lookup_waiter() {
        if (collected_) return;
        (void)watch_.release();  // out of the loop's epoll before anyone closes it
        job_->abandon();
    }

    task<lookup_result> result() {
        for (;;) {
            collected_ = job_->collect();
            if (collected_) break;
            co_await watch_.wait(io_direction::read);
        }
        (void)watch_.release();
        job_->close_collected();
        co_return std::move(job_->result);
    }

private:
    std::shared_ptr<lookup_job> job_;
    fd_watch watch_;
    bool collected_ = false;
};

// getaddrinfo off the loop thread. A checkpoint; cancellation abandons the lookup.
task<lookup_result> lookup_off_loop(const std::string& host, int port, bool passive) {
    auto job = std::make_shared<lookup_job>(host, port, passive);
    lookup_waiter waiter(job);
    start_lookup_thread(job);
    co_return co_await waiter.result();
}

}  // namespace

task<std::vector<socket_address>> resolve(std::string host, int port, bool passive) {
    co_await checkpoint();
    lookup_result numeric = lookup(host, port, passive, true);
    if (numeric.status == 0) co_return std::move(numeric.addresses);
    lookup_result named = co_await lookup_off_loop(host, port, passive);
    if (named.status != 0) throw_resolve_error(host, named);
    co_return std::move(named.addresses);
}

}  // namespace anyio::detail
