#pragma once
// HANGAR_CHECK: a broken invariant (a bug, never client input) aborts with file and line.

namespace hangar::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}

#define HANGAR_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::hangar::internal::CheckFailed(#cond, __FILE__, __LINE__))
