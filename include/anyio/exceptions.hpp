#pragma once
// The exceptions anyio throws.
//
// `cancelled` and `keyboard_interrupt` deliberately do NOT derive from std::exception,
// like Python's BaseException: `catch (const std::exception&)` must never swallow a
// cancellation or a Ctrl+C. Everything else derives from std::exception. `cancelled` never
// leaves an event loop's thread: a plain thread waiting for a cancelled call gets
// portal_call_cancelled or worker_cancelled, which are std::exceptions.

#include <anyio/socket_address.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace anyio {

// Thrown at a checkpoint inside a cancelled cancel scope. Trivially cheap to throw:
// no message, no allocation beyond the exception object itself. Let it propagate: the
// cancel scope that was cancelled catches it.
struct cancelled {
    [[nodiscard]] const char* what() const noexcept { return "anyio::cancelled"; }
};

// Thrown by anyio::run after a Ctrl+C (SIGINT) cancelled the task tree and every task
// ran its cleanup. See anyio::run_main for the Unix-conventional way to exit with it.
struct keyboard_interrupt {
    [[nodiscard]] const char* what() const noexcept { return "anyio::keyboard_interrupt"; }
};

// Thrown by anyio::run after a signal named in run_options::graceful_signals (say
// SIGTERM) cancelled the task tree and every task ran its cleanup. Not a std::exception,
// like keyboard_interrupt. anyio::run_main exits by `signo` the Unix way.
struct terminated {
    int signo = 0;
    [[nodiscard]] const char* what() const noexcept { return "anyio::terminated"; }
};

// fail_after / fail_at: the deadline expired before the body finished.
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("anyio: deadline exceeded") {}
};

// A resource that allows one waiter at a time already has one (e.g. two concurrent
// receive() calls on one signal receiver).
class busy_resource_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The resource was closed by this side (e.g. receive() after close()).
class closed_resource_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A receive on a memory object stream whose send ends are all closed and whose buffer is
// empty: the stream ended normally (AnyIO's EndOfStream).
class end_of_stream : public std::runtime_error {
public:
    end_of_stream() : std::runtime_error("anyio: end of stream") {}
    using std::runtime_error::runtime_error;
};

// The other side of the resource is gone (e.g. a send on a memory object stream whose
// receive ends are all closed).
class broken_resource_error : public std::runtime_error {
public:
    broken_resource_error() : std::runtime_error("anyio: broken resource") {}
    using std::runtime_error::runtime_error;
};

// buffered_byte_receive_stream::receive_until read max_bytes bytes without finding the
// delimiter (AnyIO's DelimiterNotFound). The bytes stay buffered; what() names the limit.
class delimiter_not_found : public std::runtime_error {
public:
    explicit delimiter_not_found(std::size_t max_bytes)
        : std::runtime_error("anyio: the delimiter was not found in the first " +
                             std::to_string(max_bytes) + " bytes"),
          max_bytes_(max_bytes) {}
    [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }

private:
    std::size_t max_bytes_;
};

// buffered_byte_receive_stream::receive_exactly / receive_until: the stream ended in the
// middle of what was asked for (AnyIO's IncompleteRead). The bytes that did arrive stay
// buffered (receive() returns them); what() says how many there are.
class incomplete_read : public std::runtime_error {
public:
    explicit incomplete_read(std::size_t received, const std::string& wanted)
        : std::runtime_error("anyio: the stream ended after " + std::to_string(received) +
                             " bytes, before " + wanted),
          received_(received) {}
    // How many bytes arrived (and are buffered) before the end.
    [[nodiscard]] std::size_t received() const noexcept { return received_; }

private:
    std::size_t received_;
};

// Bytes that are not valid UTF-8, received by a text stream or given to its send
// (Python's UnicodeDecodeError, a ValueError, hence std::invalid_argument). offset() is
// where the bad sequence starts: a byte offset in the stream for a receive, in the text
// for a send; what() names it and the byte.
class decoding_error : public std::invalid_argument {
public:
    decoding_error(std::size_t offset, const std::string& what)
        : std::invalid_argument(what), offset_(offset) {}
    [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

private:
    std::size_t offset_;
};

// A *_nowait operation could not complete without blocking (AnyIO's WouldBlock).
class would_block : public std::runtime_error {
public:
    would_block() : std::runtime_error("anyio: operation would block") {}
    using std::runtime_error::runtime_error;
};

// Connecting a socket failed (connect_tcp, connect_unix): code() is the errno
// (std::errc::connection_refused for a closed port) and address() the address that refused;
// what() names it, e.g. "anyio: connect to 127.0.0.1:1: Connection refused". When a host
// name resolved to several addresses and every one failed, code() and address() are the
// last attempt's and what() lists every attempt.
class connect_error : public std::system_error {
public:
    connect_error(int error, const socket_address& address, const std::string& what)
        : std::system_error(error, std::generic_category(), what), address_(address) {}
    [[nodiscard]] const socket_address& address() const noexcept { return address_; }

private:
    socket_address address_;
};

// A host name could not be turned into an address (unknown host, malformed address, no
// address of the wanted family): host() names it, gai_error() is getaddrinfo's EAI_* code.
class resolve_error : public std::runtime_error {
public:
    resolve_error(std::string host, int gai_error, const std::string& what)
        : std::runtime_error(what),
          host_(std::make_shared<const std::string>(std::move(host))),
          gai_error_(gai_error) {}
    [[nodiscard]] const std::string& host() const noexcept { return *host_; }
    [[nodiscard]] int gai_error() const noexcept { return gai_error_; }

private:
    std::shared_ptr<const std::string> host_;  // shared: copying an exception must not throw
    int gai_error_;
};

// run_process with check (or completed_process::check_returncode): the command ended with
// a non-zero return code, negative when a signal killed it. Carries the command and what it
// printed; the message names the command and the code (or the signal).
class called_process_error : public std::runtime_error {
public:
    called_process_error(int returncode, std::vector<std::string> argv, std::string stdout_data,
                         std::string stderr_data);
    [[nodiscard]] int returncode() const noexcept { return returncode_; }
    [[nodiscard]] const std::vector<std::string>& argv() const noexcept { return output_->argv; }
    [[nodiscard]] const std::string& stdout_data() const noexcept { return output_->out; }
    [[nodiscard]] const std::string& stderr_data() const noexcept { return output_->err; }

private:
    struct output {
        std::vector<std::string> argv;
        std::string out;
        std::string err;
    };
    int returncode_;
    std::shared_ptr<const output> output_;  // shared: copying an exception must not throw
};

// Why a blocking portal's task was cancelled (portal_call_cancelled::reason()).
enum class portal_cancel_reason {
    future_cancelled,  // portal_future::cancel()
    portal_stopped,    // stop(true), the portal's destructor, or a move-assignment over it
    signal,            // run_with_portal: a termination signal stopped the portal (signo())
    task,              // the task threw anyio::cancelled though none of the above cancelled it
};

// What a thread outside the loop gets from blocking_portal::call / start_task or
// portal_future::get when the portal task was cancelled (AnyIO's portal raises
// concurrent.futures.CancelledError, an Exception). anyio::cancelled stays inside event
// loops: it is no std::exception, so in a plain thread it would slip past every
// `catch (const std::exception&)`, and there is no cancel scope there to catch it.
// what() says what cancelled the task, e.g. "anyio::blocking_portal: the portal task was
// cancelled because SIGINT (2) stopped the portal".
class portal_call_cancelled : public std::runtime_error {
public:
    explicit portal_call_cancelled(portal_cancel_reason reason, int signo = 0);
    [[nodiscard]] portal_cancel_reason reason() const noexcept { return reason_; }
    // The signal that stopped the portal when reason() is `signal`, else 0.
    [[nodiscard]] int signo() const noexcept { return signo_; }

private:
    portal_cancel_reason reason_;
    int signo_;
};

// What a worker thread of to_thread::run_sync gets from from_thread::run / run_sync /
// check_cancelled once the task waiting for it has been cancelled (or its loop ended),
// instead of anyio::cancelled (see portal_call_cancelled for why). Let it propagate out of
// the worker's function: run_sync then raises anyio::cancelled in the waiting task, which
// is cancelled, so its cancel scope catches it as usual.
class worker_cancelled : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One or more children of a task group (or its body) failed. Holds every failure, in
// the order they happened. what() lists every one (a nested group's with its own).
//
// C++ has no `except*`; these do its work. Leaves are the failures that are not groups
// themselves: a nested group (a task group inside a child) is looked through.
//
//     try {
//         co_await anyio::with_task_group(body);
//     } catch (const anyio::exception_group& group) {
//         // Handles every timeout; throws an exception_group of whatever else failed.
//         group.handle<anyio::timeout_error>([](const anyio::timeout_error&) { ++timeouts; });
//     }
class exception_group : public std::exception {
public:
    explicit exception_group(std::vector<std::exception_ptr> errors);
    [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
        return errors_;
    }
    [[nodiscard]] std::size_t size() const noexcept { return errors_.size(); }

    // Calls visit(leaf) with the std::exception_ptr of every leaf, depth first, in order.
    template <class F>
    void for_each_leaf(F&& visit) const {
        for (const std::exception_ptr& error : errors_) {
            if (const exception_group* nested = as_group(error)) {
                nested->for_each_leaf(visit);
            } else {
                visit(error);
            }
        }
    }

    // Every leaf, flattened (nested groups looked through), in order.
    [[nodiscard]] std::vector<std::exception_ptr> leaves() const;

    // The leaves of type E (or derived from it) and the others, each as a flat group;
    // nullptr where there are none. Python's ExceptionGroup.split, flattened.
    template <class E>
    [[nodiscard]] std::pair<std::exception_ptr, std::exception_ptr> split() const {
        std::vector<std::exception_ptr> matching;
        std::vector<std::exception_ptr> rest;
        for_each_leaf([&](const std::exception_ptr& leaf) {
            (is<E>(leaf) ? matching : rest).push_back(leaf);
        });
        return {group_of(std::move(matching)), group_of(std::move(rest))};
    }

    // Python's `except* E`: calls handle(const E&) for every leaf of type E; then, if other
    // leaves are left, throws an exception_group of them (what the handler threw instead
    // propagates at once). Returns normally when every leaf was an E.
    template <class E, class F>
    void handle(F&& handle) const {
        std::vector<std::exception_ptr> rest;
        for_each_leaf([&](const std::exception_ptr& leaf) {
            try {
                std::rethrow_exception(leaf);
            } catch (const E& error) {
                handle(error);
            } catch (...) {
                rest.push_back(leaf);
            }
        });
        if (!rest.empty()) throw exception_group(std::move(rest));
    }

    // Whether some leaf is an E.
    template <class E>
    [[nodiscard]] bool contains() const {
        bool found = false;
        for_each_leaf([&](const std::exception_ptr& leaf) { found = found || is<E>(leaf); });
        return found;
    }

private:
    // The group `error` holds, or nullptr when it holds something else.
    static const exception_group* as_group(const std::exception_ptr& error) noexcept;
    static std::exception_ptr group_of(std::vector<std::exception_ptr> errors);
    template <class E>
    static bool is(const std::exception_ptr& error) {
        try {
            std::rethrow_exception(error);
        } catch (const E&) {
            return true;
        } catch (...) {
            return false;
        }
    }

    std::vector<std::exception_ptr> errors_;
    std::string message_;
};

}  // namespace anyio
