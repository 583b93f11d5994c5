#include <anyio/exceptions.hpp>
#include <anyio/run_process.hpp>
#include <anyio/task_group.hpp>

#include "process/stop.hpp"

#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace anyio {

namespace {

constexpr std::size_t chunk = 64 * 1024;  // a default pipe's capacity

bool piped(const stdio& how) {
    return how.type() == stdio::kind::pipe;
}

// Reads until end of stream straight into `out` (no copy through a separate buffer).
task<> collect(byte_stream& stream, std::string& out) {
    for (;;) {
        const std::size_t used = out.size();
        out.resize(used + chunk);
        std::size_t n = 0;
        try {
            n = co_await stream.receive_into(std::span<char>(out.data() + used, chunk));
        } catch (const end_of_stream&) {
            out.resize(used);
            co_return;
        }
        out.resize(used + n);
    }
}

// Like Python's communicate(): a child that exits without reading all its input is no
// error (its return code tells what happened).
task<> feed(byte_stream& stream, std::string_view input) {
    try {
        if (!input.empty()) co_await stream.send(input);
    } catch (const broken_resource_error&) {
    }
    stream.close();
}

void close_pipes(process& child, const process_options& options) {
    if (piped(options.stdin_from)) child.stdin_stream().close();
    if (piped(options.stdout_to)) child.stdout_stream().close();
    if (piped(options.stderr_to)) child.stderr_stream().close();
}

}  // namespace

void completed_process::check_returncode() const {
    if (returncode != 0) throw called_process_error(returncode, args, stdout_data, stderr_data);
}

task<completed_process> run_process(std::vector<std::string> argv, std::string input, bool check,
                                    process_options options) {
    if (!input.empty() && !piped(options.stdin_from)) {
        throw std::invalid_argument("anyio::run_process: input needs stdin_from = stdio::pipe()");
    }
    process child = co_await open_process(argv, options);
    completed_process result;
    std::exception_ptr error;
    try {
        co_await with_task_group([&](task_group& tg) -> task<> {
            if (piped(options.stdout_to)) {
                tg.start_soon(collect, std::ref(child.stdout_stream()),
                              std::ref(result.stdout_data));
            }
            if (piped(options.stderr_to)) {
                tg.start_soon(collect, std::ref(child.stderr_stream()),
                              std::ref(result.stderr_data));
            }
            if (piped(options.stdin_from)) co_await feed(child.stdin_stream(), input);
        });
        result.returncode = co_await child.wait();
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        close_pipes(child, options);
        co_await detail::stop_process(child, options.termination_grace, options.termination_signal);
        std::rethrow_exception(error);
    }
    if (check && result.returncode != 0) {
        throw called_process_error(result.returncode, std::move(argv),
                                   std::move(result.stdout_data), std::move(result.stderr_data));
    }
    result.args = std::move(argv);
    co_return result;
}

}  // namespace anyio
