#pragma once
// anyio::run_process (AnyIO's run_process, Python's subprocess.run): run a program to the
// end, feeding it input and collecting what it prints.
//
//     anyio::completed_process ls = co_await anyio::run_process({"ls", "-l"});
//     std::puts(ls.stdout_data.c_str());

#include <anyio/process.hpp>
#include <anyio/task.hpp>

#include <string>
#include <vector>

namespace anyio {

struct completed_process {
    std::vector<std::string> args;
    int returncode = 0;       // exit code, or minus the signal that killed it
    std::string stdout_data;  // empty unless stdout_to was stdio::pipe()
    std::string stderr_data;  // empty unless stderr_to was stdio::pipe()

    // Throws called_process_error if returncode is not 0.
    void check_returncode() const;
};

// Starts argv like open_process, writes `input` to its stdin and closes it (a child that
// exits without reading it all is fine), reads its stdout and stderr concurrently (so
// neither pipe can fill up and deadlock), and waits for it to end. With `check`, a
// non-zero return code (a signal included) throws called_process_error, which carries
// the output. A non-empty `input` needs stdin_from = stdio::pipe() (the default).
//
// A checkpoint. Cancellation (or any error) ends the child before it propagates: the
// pipes close, then process::stop runs shielded with the options' termination_signal
// (SIGTERM), SIGKILL after termination_grace, and the child is reaped, so no child
// outlives the call. Loop thread only.
[[nodiscard]] task<completed_process> run_process(std::vector<std::string> argv,
                                                  std::string input = {}, bool check = true,
                                                  process_options options = {});

}  // namespace anyio
