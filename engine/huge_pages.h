// Memory for states folded from a whole log (rebuilds, verify, offline log
// replays): hundreds of thousands of map nodes, allocated one by one and none
// freed before the end. Taken from malloc in 4 KiB pages, every page costs a
// page fault on first touch, and on a virtual machine those faults cost about
// a tenth of a rebuild (docs/benchmarks.md#replay_bench).
//
// huge_page_resource() hands out whole blocks of 2 MiB multiples, mapped
// for this process and advised to the kernel as transparent huge pages (one
// fault per 2 MiB where the kernel allows it, 4 KiB pages where it does not).
// It is meant as the upstream of a std::pmr::monotonic_buffer_resource,
// which asks for geometrically growing blocks and returns them all at once.
//
// Thread-safety: the resource is stateless and thread-safe; a monotonic
// buffer over it is not.
#pragma once

#include <cstddef>
#include <memory_resource>

namespace lf::engine {

inline constexpr std::size_t huge_page_bytes = 2u << 20;

// Throws std::bad_alloc, as memory resources do, when the kernel has no
// memory to map, or for an alignment above huge_page_bytes or a size within
// two huge pages of SIZE_MAX.
std::pmr::memory_resource* huge_page_resource();

}  // namespace lf::engine
