#pragma once
// What an async_file shares with the worker threads running its operations: held by
// shared_ptr, so a worker never outlives the descriptor and the buffer it uses, even when
// the async_file is destroyed meanwhile. The worker touches fd and read_ahead only while
// `busy` (set and cleared on the loop thread around each operation); to_thread's hand-over
// orders those accesses.

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include <unistd.h>

namespace anyio::detail {

struct file_state {
    file_state(int descriptor, std::filesystem::path path, bool can_read, bool can_write,
               bool is_regular)
        : fd(descriptor),
          name(std::move(path)),
          readable(can_read),
          writable(can_write),
          regular(is_regular) {}
    file_state(const file_state&) = delete;
    file_state& operator=(const file_state&) = delete;
    ~file_state() {
        if (fd >= 0) ::close(fd);
    }

    int fd;
    const std::filesystem::path name;
    const bool readable;
    const bool writable;
    // false: a FIFO, socket or terminal, made non-blocking; its I/O runs on the loop.
    const bool regular;
    // Bytes read from the descriptor but not yet returned (readline's read-ahead). The
    // descriptor's offset is past them: tell, seek and write correct for them.
    std::string read_ahead;
    std::size_t read_pos = 0;  // read_ahead's first byte not yet returned
    // Loop thread only.
    bool busy = false;
    bool closed = false;  // aclose or the destructor came: fd goes when the operation ends
};

}  // namespace anyio::detail
