#pragma once
// Umbrella header: everything public in anyio.

#include <anyio/blocking_portal.hpp>
#include <anyio/byte_stream.hpp>
#include <anyio/cancel_scope.hpp>
#include <anyio/capacity_limiter.hpp>
#include <anyio/condition.hpp>
#include <anyio/event.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/from_thread.hpp>
#include <anyio/lock.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/process.hpp>
#include <anyio/run.hpp>
#include <anyio/run_process.hpp>
#include <anyio/semaphore.hpp>
#include <anyio/signals.hpp>
#include <anyio/socket_address.hpp>
#include <anyio/socket_listener.hpp>
#include <anyio/socket_stream.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>
#include <anyio/tcp.hpp>
#include <anyio/time.hpp>
#include <anyio/to_thread.hpp>
#include <anyio/unix_socket.hpp>
