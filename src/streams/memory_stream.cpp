#include <anyio/memory_stream.hpp>

#include <string>

namespace anyio::detail {

void throw_stream_outcome(stream_outcome outcome, const char* what) {
    switch (outcome) {
        case stream_outcome::ok:
            return;
        case stream_outcome::would_block:
            throw would_block(std::string(what) + ": would block");
        case stream_outcome::closed:
            throw closed_resource_error(std::string(what) + ": this end is closed");
        case stream_outcome::broken:
            throw broken_resource_error(std::string(what) +
                                        ": every receive end of the stream is closed");
        case stream_outcome::end_of_stream:
            throw end_of_stream(std::string(what) +
                                ": every send end of the stream is closed and it is drained");
    }
}

}  // namespace anyio::detail
