// What a fuzz target does when the code under test breaks a promise that is
// not a crash (an accepted value out of range, an encoded reply that is not
// JSON): stop at once with the reason, so libFuzzer saves the input and the
// corpus replay fails.
#pragma once

#include <cstdio>
#include <cstdlib>

#define HUXIAO_FUZZ_CHECK(condition)                                                   \
    do {                                                                               \
        if (!(condition)) {                                                            \
            std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, \
                         #condition);                                                  \
            std::abort();                                                              \
        }                                                                              \
    } while (false)
