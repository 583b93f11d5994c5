#pragma once
// Umbrella header: everything public in anyio.

#include <anyio/cancel_scope.hpp>
#include <anyio/event.hpp>
#include <anyio/exceptions.hpp>
#include <anyio/memory_stream.hpp>
#include <anyio/run.hpp>
#include <anyio/signals.hpp>
#include <anyio/task.hpp>
#include <anyio/task_group.hpp>
#include <anyio/time.hpp>
