#include "engine/process_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lf::engine {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const bool mmap_ok =
      mallopt(M_MMAP_THRESHOLD, static_cast<int>(malloc_mmap_threshold_bytes)) == 1;
  const bool trim_ok =
      mallopt(M_TRIM_THRESHOLD, static_cast<int>(malloc_trim_threshold_bytes)) == 1;
  return mmap_ok && trim_ok;
#else
  return true;
#endif
}

}  // namespace lf::engine
