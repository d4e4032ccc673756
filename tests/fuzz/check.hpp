#pragma once
// Invariant checks for the fuzz targets: a failure prints what broke and
// aborts, which libFuzzer reports as a crash with the input saved, and which
// fails the replay test in a plain build. Never print the input itself here:
// libFuzzer keeps it in a file already.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
