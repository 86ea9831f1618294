// Process-wide malloc settings for programs that run engines (the ledgerflow
// binary and the benchmarks).
//
// RocksDB allocates a fresh buffer for every block it decompresses or
// builds, and the log's blocks are large: one event block per batch, about
// 1.4 MiB for 4,096 transfers. glibc serves
// requests above its mmap threshold (128 KiB at first) with a fresh mapping
// and gives freed memory at the heap's top back to the kernel, so every such
// buffer is faulted in again page by page. On the project VM that cost 3% to
// 13% of a projection rebuild, depending on the VM's load
// (docs/benchmarks.md#replay_bench).
// keep_freed_memory() raises both thresholds, so that those buffers are
// reused from the heap instead.
//
// Call it once at the start of main(), before any thread starts. It changes
// nothing but malloc's policy (no effect outside glibc) and is not needed for
// correctness; libraries never call it on their own. The trim threshold
// applies to each of malloc's per-thread arenas, so a long-running process
// with many threads may keep several times 128 MiB it no longer uses: the
// ledgerflow binary calls it for its batch commands, not for `run`.
#pragma once

#include <cstddef>

namespace lf::engine {

// Requests below this come from the heap, not from a mapping of their own:
// glibc's largest allowed value on 64-bit.
inline constexpr std::size_t malloc_mmap_threshold_bytes = 32u << 20;
// Free memory at the heap's top kept for reuse before it is given back.
inline constexpr std::size_t malloc_trim_threshold_bytes = 128u << 20;

// Returns false when malloc refused a setting (then it keeps its defaults).
[[nodiscard]] bool keep_freed_memory();

}  // namespace lf::engine
