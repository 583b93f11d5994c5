#pragma once
// Starting a child with posix_spawn: the file actions that give it exactly the descriptors
// it was asked for, the attributes that give it default signal dispositions and an empty
// mask, and a pidfd to watch it by. No loop involved; open_process wraps the result.

#include <anyio/process.hpp>

#include "io/unique_fd.hpp"

#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace anyio::detail {

struct spawned_child {
    pid_t pid = -1;
    unique_fd pidfd;  // invalid if something else reaped the child already
    // This side's end of each pipe (invalid where the stream was not stdio::pipe()).
    unique_fd stdin_end;
    unique_fd stdout_end;
    unique_fd stderr_end;
};

// Starts the child (see include/anyio/process.hpp for every guarantee). Blocks only until
// the child has called exec; reports an exec failure as std::system_error naming argv[0]
// (glibc's posix_spawn waits for the exec and reaps a child whose exec failed).
[[nodiscard]] spawned_child spawn_child(const std::vector<std::string>& argv,
                                        const process_options& options);

}  // namespace anyio::detail
