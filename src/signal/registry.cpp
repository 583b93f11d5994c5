#include "signal/registry.hpp"

#include "signal/handler_lock.hpp"
#include "signal/request_tracker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace anyio::detail::signals {

namespace {

constexpr int max_slots = 64;

struct slot {
    // Written by the owning loop, read by the handler: null while the slot is free.
    std::atomic<wakeup*> waker{nullptr};
    // Signals (bit signo) this slot's receivers want; loop writes, handler reads.
    std::array<std::atomic<std::uint64_t>, 2> wanted{};
    // Signals the slot's run() treats as a request to terminate (SIGINT: Ctrl+C); loop
    // writes, handler reads.
    std::array<std::atomic<std::uint64_t>, 2> terminating{};
    // Deliveries (high 32 bits) and requests among them (low 32 bits), in one word so the
    // loop takes both at once; handler adds, loop exchanges with 0.
    std::array<std::atomic<std::uint64_t>, _NSIG> tally{};
    std::array<std::atomic<unsigned long long>, _NSIG> first_sequence{};
    std::array<std::atomic<unsigned long long>, _NSIG> last_sequence{};
    std::array<sender_record, _NSIG> latest{};  // written before the count is raised
    realtime_queue realtime;                    // handlers push, the loop pops
    std::array<std::atomic<std::uint64_t>, _NSIG> realtime_dropped{};
    // The first terminating signal that reached the slot (0: none); handler CAS, loop reads.
    std::atomic<int> termination{0};
    bool in_use = false;  // guarded by registry_mutex
    // Items closing receivers handed to receivers on this loop (guarded by
    // registry_mutex); `has_mail` lets the loop skip the mutex when there are none.
    std::vector<mail> mailbox;
    std::atomic<bool> has_mail{false};
};

struct receiver_entry {
    std::uint64_t id = 0;
    int slot = 0;
    std::bitset<_NSIG> signals;
    unsigned long long opened_at = 0;
};

struct signal_entry {
    int refs = 0;               // receivers + Ctrl+C claims (guarded by mutex)
    struct sigaction saved {};  // disposition before our handler (valid when refs>0)
};

std::mutex registry_mutex;
std::array<slot, max_slots> slots;
std::array<signal_entry, _NSIG> entries;
std::vector<receiver_entry> receivers;  // every open receiver in the process (mutex)
request_tracker requests;               // handlers only, under handler_lock
// Receivers of each signal in the process: while SIGINT has one, it owns SIGINT and
// run's Ctrl+C handling stands aside. Mutex writes, handler reads.
std::array<std::atomic<int>, _NSIG> receiver_refs{};
std::atomic<int> slots_high_water{0};
std::atomic<int> handlers_in_flight{0};  // the handler's side of release_slot's wait
// Numbers every delivery the handler counts; written under handler_lock, so a receiver
// opening under the same lock knows exactly which occurrences it had.
std::atomic<unsigned long long> sequence{0};
// run() claims per signal (mutex writes, handler reads), and how many terminating
// signals arrived since the first claim; the `force_exit_at`-th one ends the process.
std::array<std::atomic<int>, _NSIG> termination_claims{};
std::atomic<int> total_termination_claims{0};
std::atomic<unsigned> termination_presses{0};
std::atomic<unsigned> force_exit_at{2};
// Bumped in the child of every fork(): the parent's loops, copied into the child, hold
// slots of an older generation and must leave the registry alone.
std::atomic<unsigned> fork_generation{0};
// The process the slots belong to: a handler running in a freshly forked child (before
// the registry was reset) must not write the parent's eventfds.
std::atomic<pid_t> owner_pid{0};
// SIGRTMIN is a libc call; the handler reads this copy.
std::atomic<int> realtime_min{SIGRTMIN};

using signal_bits = std::array<std::atomic<std::uint64_t>, 2>;

bool has_bit(const signal_bits& bits, int signo) noexcept {
    const auto word = static_cast<std::size_t>(signo / 64);
    return (bits[word].load(std::memory_order_acquire) >> (signo % 64) & 1U) != 0;
}

void set_bit(signal_bits& bits, int signo, bool on) noexcept {
    const auto word = static_cast<std::size_t>(signo / 64);
    const std::uint64_t bit = std::uint64_t{1} << (signo % 64);
    if (on) {
        bits[word].fetch_or(bit, std::memory_order_release);
    } else {
        bits[word].fetch_and(~bit, std::memory_order_release);
    }
}

void wake(const slot& s) noexcept {
    if (wakeup* w = s.waker.load(std::memory_order_acquire)) w->notify();
}

// The process ends the way `signo` ends it by default. Async-signal-safe.
[[noreturn]] void force_exit_by(int signo) noexcept {
    // As PID 1 the kernel would drop the re-raised signal: exit as if killed by it.
    if (::getpid() == 1) ::_exit(128 + signo);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(signo, &dfl, nullptr);
    ::raise(signo);  // pending (blocked while a handler runs); delivered once unblocked
    ::sigset_t only;
    ::sigemptyset(&only);
    ::sigaddset(&only, signo);
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    ::_exit(128 + signo);  // not reached unless the default action is to ignore
}

// True if `signo` is at SIG_DFL and its default action ends the process (every signal
// but the ignored-by-default and the stop/continue ones). Async-signal-safe.
bool ends_by_default(int signo) noexcept {
    switch (signo) {
        case SIGCHLD:
        case SIGCONT:
        case SIGURG:
        case SIGWINCH:
        case SIGSTOP:
        case SIGTSTP:
        case SIGTTIN:
        case SIGTTOU:
            return false;
        default:
            break;
    }
    struct sigaction current {};
    if (::sigaction(signo, nullptr, &current) != 0) return false;
    return (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL;
}

sender sender_of(const siginfo_t* info) noexcept {
    if (info == nullptr) return {};
    return {info->si_pid, info->si_uid, info->si_code,
            reinterpret_cast<std::intptr_t>(info->si_value.sival_ptr)};
}

constexpr std::uint64_t one_delivery = std::uint64_t{1} << 32;

void count_for_receivers(int signo, const sender& from, bool repeat, int high) noexcept {
    const unsigned long long seq = sequence.fetch_add(1, std::memory_order_relaxed);
    const auto s_no = static_cast<std::size_t>(signo);
    for (int i = 0; i < high; ++i) {
        slot& s = slots[static_cast<std::size_t>(i)];
        if (!has_bit(s.wanted, signo)) continue;
        if (signo >= realtime_min.load(std::memory_order_relaxed)) {
            if (!s.realtime.push({signo, seq, from, repeat})) {
                s.realtime_dropped[s_no].fetch_add(1);
            }
            wake(s);
            continue;
        }
        s.latest[s_no].write(from);
        s.last_sequence[s_no].store(seq, std::memory_order_relaxed);
        if (s.tally[s_no].fetch_add(one_delivery | (repeat ? 0U : 1U)) == 0) {
            s.first_sequence[s_no].store(seq, std::memory_order_relaxed);
        }
        wake(s);
    }
}

void count_for_termination(int signo, bool repeat, int high) noexcept {
    if (repeat) return;  // the same request again: not a second Ctrl+C
    if (termination_presses.fetch_add(1) + 1 >= force_exit_at.load()) {
        handler_lock.clear(std::memory_order_release);
        force_exit_by(signo);
    }
    for (int i = 0; i < high; ++i) {
        slot& s = slots[static_cast<std::size_t>(i)];
        if (!has_bit(s.terminating, signo)) continue;
        int none = 0;
        s.termination.compare_exchange_strong(none, signo);
        wake(s);
    }
}

void on_signal(int signo, siginfo_t* info, void* /*context*/) {
    const int saved_errno = errno;
    if (::getpid() != owner_pid.load()) {
        errno = saved_errno;
        return;
    }
    handlers_in_flight.fetch_add(1);
    {
        const handler_lock_in_handler lock;
        const int high = slots_high_water.load();
        const sender from = sender_of(info);
        const bool repeat = requests.is_repeat(signo, from);
        if (receiver_refs[static_cast<std::size_t>(signo)].load() > 0) {
            count_for_receivers(signo, from, repeat, high);
        } else if (termination_claims[static_cast<std::size_t>(signo)].load() > 0) {
            count_for_termination(signo, repeat, high);
        }
    }
    handlers_in_flight.fetch_sub(1);
    errno = saved_errno;
}

bool handler_is_ours(const struct sigaction& action) noexcept {
    return (action.sa_flags & SA_SIGINFO) != 0 && action.sa_sigaction == &on_signal;
}

[[noreturn]] void throw_errno(const char* what, int signo) {
    throw std::system_error(errno, std::generic_category(),
                            std::string("anyio: ") + what + " for signal " + std::to_string(signo));
}

// Installs our handler if `signo` has no reference yet, or again if other code replaced
// it meanwhile (a receiver opened now must receive; what we displace is what the last
// release restores). Mutex held.
void retain(int signo) {
    signal_entry& e = entries[static_cast<std::size_t>(signo)];
    struct sigaction ours {};
    ours.sa_sigaction = &on_signal;
    ours.sa_flags = SA_SIGINFO | SA_RESTART;
    ::sigfillset(&ours.sa_mask);
    if (e.refs == 0) {
        if (::sigaction(signo, &ours, &e.saved) != 0) throw_errno("sigaction", signo);
    } else {
        struct sigaction current {};
        ::sigaction(signo, nullptr, &current);
        if (!handler_is_ours(current)) {
            if (::sigaction(signo, &ours, &e.saved) != 0) throw_errno("sigaction", signo);
        }
    }
    ++e.refs;
}

// Drops a reference; the last one restores the saved disposition exactly, unless somebody
// replaced our handler meanwhile (then theirs stays). Mutex held.
void release(int signo) noexcept {
    signal_entry& e = entries[static_cast<std::size_t>(signo)];
    if (--e.refs > 0) return;
    struct sigaction current {};
    ::sigaction(signo, nullptr, &current);
    if (handler_is_ours(current)) ::sigaction(signo, &e.saved, nullptr);
}

void before_fork() noexcept {
    registry_mutex.lock();
}
void after_fork_in_parent() noexcept {
    registry_mutex.unlock();
}

// The child starts with no loops of its own: give every signal back its previous
// disposition, forget every slot and claim, and let the copied loops know they are stale.
void after_fork_in_child() noexcept {
    owner_pid.store(::getpid());
    for (int signo = 1; signo <= max_signal; ++signo) {
        signal_entry& e = entries[static_cast<std::size_t>(signo)];
        if (e.refs > 0) {
            struct sigaction current {};
            ::sigaction(signo, nullptr, &current);
            if (handler_is_ours(current)) ::sigaction(signo, &e.saved, nullptr);
        }
        e.refs = 0;
        receiver_refs[static_cast<std::size_t>(signo)].store(0);
        termination_claims[static_cast<std::size_t>(signo)].store(0);
    }
    requests.reset();
    receivers.clear();
    handler_lock.clear();
    for (slot& s : slots) {
        s.waker.store(nullptr);
        s.mailbox.clear();
        s.has_mail.store(false);
        for (auto& w : s.wanted)
            w.store(0);
        for (auto& w : s.terminating)
            w.store(0);
        s.in_use = false;
    }
    total_termination_claims.store(0);
    handlers_in_flight.store(0);
    fork_generation.fetch_add(1);
    registry_mutex.unlock();
}

// Once per process, before the first slot exists.
void install_fork_handlers() {
    static const bool installed = [] {
        owner_pid.store(::getpid());
        ::pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
        return true;
    }();
    (void)installed;
}

}  // namespace

std::string signal_name(int signo) {
    const char* abbrev = (signo >= 1 && signo <= SIGRTMAX) ? ::sigabbrev_np(signo) : nullptr;
    std::string name = abbrev != nullptr ? std::string("SIG") + abbrev : std::string("signal");
    return name + " (" + std::to_string(signo) + ")";
}

unsigned generation() noexcept {
    return fork_generation.load();
}

void reset_for_child() noexcept {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int signo = 1; signo <= max_signal; ++signo) {
        if (signo == SIGKILL || signo == SIGSTOP) continue;
        ::sigaction(signo, &dfl, nullptr);  // fails harmlessly for libc-reserved signals
    }
    ::sigset_t empty;
    ::sigemptyset(&empty);
    ::pthread_sigmask(SIG_SETMASK, &empty, nullptr);
}

void validate(std::span<const int> signals, const char* who) {
    if (signals.empty()) {
        throw std::invalid_argument(std::string(who) + ": the list of signals is empty");
    }
    for (const int signo : signals) {
        const char* why = nullptr;
        if (signo < 1 || signo > SIGRTMAX || signo > max_signal) {
            throw std::invalid_argument(std::string(who) + ": " + std::to_string(signo) +
                                        " is not a signal number (valid: 1.." +
                                        std::to_string(SIGRTMAX) + ")");
        }
        if (signo == SIGKILL || signo == SIGSTOP) {
            why = "cannot be caught";
        } else if (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL) {
            why = "is a synchronous fault; it cannot be received asynchronously";
        } else if (signo > 31 && signo < SIGRTMIN) {
            why = "is reserved by the C library";
        }
        if (why != nullptr) {
            throw std::invalid_argument(std::string(who) + ": " + signal_name(signo) + " " + why);
        }
    }
}

int acquire_slot(wakeup& waker) {
    install_fork_handlers();
    const std::lock_guard lock(registry_mutex);
    for (int i = 0; i < max_slots; ++i) {
        slot& s = slots[static_cast<std::size_t>(i)];
        if (s.in_use) continue;
        s.in_use = true;
        for (auto& c : s.tally)
            c.store(0);
        s.mailbox.clear();
        s.has_mail.store(false);
        for (auto& d : s.realtime_dropped)
            d.store(0);
        s.realtime.reset();
        s.termination.store(0);
        s.waker.store(&waker, std::memory_order_release);
        if (slots_high_water.load() <= i) slots_high_water.store(i + 1);
        return i;
    }
    throw std::runtime_error("anyio: too many event loops receive signals at once (limit 64)");
}

void release_slot(int index) noexcept {
    slot& s = slots[static_cast<std::size_t>(index)];
    for (auto& w : s.wanted)
        w.store(0);
    for (auto& w : s.terminating)
        w.store(0);
    s.waker.store(nullptr);
    // A handler that loaded the old waker may still be about to use it: wait it out so
    // the loop can free it and close its fd safely. Handlers are short and never block.
    while (handlers_in_flight.load() != 0)
        std::this_thread::yield();
    const std::lock_guard lock(registry_mutex);
    s.in_use = false;
}

subscription subscribe(int index, std::uint64_t receiver_id, std::span<const int> signals) {
    const std::lock_guard lock(registry_mutex);
    slot& s = slots[static_cast<std::size_t>(index)];
    subscription result;
    receiver_entry entry{receiver_id, index, {}, 0};
    result.carried.reserve(signals.size());  // nothing below allocates or throws but retain
    receivers.reserve(receivers.size() + 1);
    std::size_t done = 0;
    try {
        for (; done < signals.size(); ++done)
            retain(signals[done]);
    } catch (...) {
        while (done > 0)
            release(signals[--done]);
        throw;
    }
    {
        const handler_lock_outside handlers_wait;
        for (const int signo : signals) {
            if (has_bit(s.wanted, signo) && !is_realtime(signo)) {
                const occurrence o = take(index, signo);
                if (o.count != 0) result.carried.push_back({signo, o});
            }
            receiver_refs[static_cast<std::size_t>(signo)].fetch_add(1);
            set_bit(s.wanted, signo, true);
            entry.signals.set(static_cast<std::size_t>(signo));
        }
        entry.opened_at = sequence.load(std::memory_order_relaxed);
    }
    result.opened_at = entry.opened_at;
    receivers.push_back(entry);
    return result;
}

void unsubscribe(int index, int signo, bool last_in_loop) noexcept {
    const std::lock_guard lock(registry_mutex);
    // Restore first: a signal arriving from here on reaches the old disposition instead
    // of a handler with nobody left to count it.
    release(signo);
    const handler_lock_outside handlers_wait;
    if (last_in_loop) set_bit(slots[static_cast<std::size_t>(index)].wanted, signo, false);
    receiver_refs[static_cast<std::size_t>(signo)].fetch_sub(1);
}

std::vector<unreceived> hand_over(std::uint64_t receiver_id, std::vector<unreceived> items) {
    const std::lock_guard lock(registry_mutex);
    std::erase_if(receivers, [&](const receiver_entry& r) { return r.id == receiver_id; });
    std::vector<unreceived> orphaned;
    for (unreceived& item : items) {
        bool anyone = false;
        for (const receiver_entry& r : receivers) {
            if (!r.signals.test(static_cast<std::size_t>(item.signo))) continue;
            anyone = true;
            if (r.opened_at <= item.o.first_sequence) continue;  // it had every occurrence
            unreceived share = item;
            if (r.opened_at <= item.o.last_sequence) {
                // It had the later occurrences, not how many of the earlier ones: give it
                // one, never an occurrence twice.
                share.o.count = 1;
                share.o.requests = std::min(share.o.requests, 1U);
            }
            slot& s = slots[static_cast<std::size_t>(r.slot)];
            s.mailbox.push_back({r.id, share});
            s.has_mail.store(true);
            wake(s);
        }
        if (!anyone) orphaned.push_back(item);
    }
    return orphaned;
}

std::vector<mail> take_mail(int index) {
    slot& s = slots[static_cast<std::size_t>(index)];
    if (!s.has_mail.load()) return {};
    const std::lock_guard lock(registry_mutex);
    s.has_mail.store(false);
    return std::exchange(s.mailbox, {});
}

void send_to_process(const std::vector<unreceived>& items) noexcept {
    for (const unreceived& item : items) {
        // As PID 1 the kernel drops a signal at its default disposition, ours included:
        // what would have killed any other process ends this one the shell's way.
        if (::getpid() == 1 && ends_by_default(item.signo)) ::_exit(128 + item.signo);
        if (is_realtime(item.signo)) {
            sigval value{};
            value.sival_ptr = reinterpret_cast<void*>(item.o.latest.value);
            ::sigqueue(::getpid(), item.signo, value);
        } else {
            ::kill(::getpid(), item.signo);
        }
    }
}

occurrence take(int index, int signo) noexcept {
    slot& s = slots[static_cast<std::size_t>(index)];
    const auto s_no = static_cast<std::size_t>(signo);
    occurrence o;
    const std::uint64_t tally = s.tally[s_no].exchange(0);
    o.count = static_cast<unsigned>(tally >> 32);
    o.requests = static_cast<unsigned>(tally & 0xffff'ffffU);
    if (o.count != 0) {
        o.first_sequence = s.first_sequence[s_no].load(std::memory_order_relaxed);
        o.last_sequence = s.last_sequence[s_no].load(std::memory_order_relaxed);
        o.latest = s.latest[s_no].read();
    }
    return o;
}

bool is_realtime(int signo) noexcept {
    return signo >= realtime_min.load();
}

bool peek_realtime_sequence(int index, unsigned long long& next) noexcept {
    return slots[static_cast<std::size_t>(index)].realtime.peek_sequence(next);
}

bool pop_realtime(int index, queued_signal& out) noexcept {
    return slots[static_cast<std::size_t>(index)].realtime.pop(out);
}

std::uint64_t take_realtime_dropped(int index, int signo) noexcept {
    return slots[static_cast<std::size_t>(index)]
        .realtime_dropped[static_cast<std::size_t>(signo)]
        .exchange(0);
}

bool claim_termination(int index, int signo, unsigned force_exit_count) {
    const std::lock_guard lock(registry_mutex);
    signal_entry& e = entries[static_cast<std::size_t>(signo)];
    // What the signal would do without anyio: what our handler displaced, or, when ours is
    // not installed (or was replaced by other code), what is there now.
    struct sigaction current {};
    ::sigaction(signo, nullptr, &current);
    const struct sigaction* found = e.refs > 0 && handler_is_ours(current) ? &e.saved : &current;
    if ((found->sa_flags & SA_SIGINFO) != 0 || found->sa_handler != SIG_DFL) return false;
    retain(signo);
    if (total_termination_claims.fetch_add(1) == 0) termination_presses.store(0);
    termination_claims[static_cast<std::size_t>(signo)].fetch_add(1);
    force_exit_at.store(force_exit_count);
    set_bit(slots[static_cast<std::size_t>(index)].terminating, signo, true);
    return true;
}

void release_termination(int index, int signo) noexcept {
    const std::lock_guard lock(registry_mutex);
    set_bit(slots[static_cast<std::size_t>(index)].terminating, signo, false);
    termination_claims[static_cast<std::size_t>(signo)].fetch_sub(1);
    total_termination_claims.fetch_sub(1);
    release(signo);
}

int take_termination(int index) noexcept {
    return slots[static_cast<std::size_t>(index)].termination.exchange(0);
}

}  // namespace anyio::detail::signals
