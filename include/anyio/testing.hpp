#pragma once
// Umbrella header for testing support (not included by <anyio/anyio.hpp>): run_test, the
// hang-guarded runner for async test bodies, and mock_clock, virtual time with autojump.
// Neither needs a test framework. docs/api/testing.md has the whole story.

#include <anyio/testing/mock_clock.hpp>
#include <anyio/testing/run_test.hpp>
