#pragma once
// Which sanitizer the tests run under, for the few tests that must adapt to it. GCC
// predefines __SANITIZE_THREAD__ / __SANITIZE_ADDRESS__; clang answers __has_feature.

#if defined(__SANITIZE_THREAD__)
#define ANYIO_TEST_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ANYIO_TEST_THREAD_SANITIZER 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ANYIO_TEST_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANYIO_TEST_ADDRESS_SANITIZER 1
#endif
#endif
