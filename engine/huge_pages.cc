#include "engine/huge_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

#include "ledger/assert.h"

namespace lf::engine {

namespace {

// Larger requests cannot be rounded up to whole huge pages without wrapping.
constexpr std::size_t request_bytes_max = SIZE_MAX - 2 * huge_page_bytes;

// Whole huge pages, at least one (a request of 0 bytes still gets a block).
std::size_t mapped_bytes(std::size_t bytes) {
  LF_ASSERT(bytes <= request_bytes_max);
  return (std::max<std::size_t>(bytes, 1) + huge_page_bytes - 1) / huge_page_bytes *
         huge_page_bytes;
}

class HugePageResource final : public std::pmr::memory_resource {
 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (alignment > huge_page_bytes || bytes > request_bytes_max) throw std::bad_alloc();
    const std::size_t size = mapped_bytes(bytes);
    // Mapped one huge page larger, then trimmed to a huge-page boundary: the
    // kernel only backs aligned 2 MiB ranges with huge pages.
    void* raw = mmap(nullptr, size + huge_page_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned =
        (start + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
    if (aligned > start) munmap(raw, aligned - start);
    const std::size_t tail = start + size + huge_page_bytes - (aligned + size);
    if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
    void* block = reinterpret_cast<void*>(aligned);
    (void)madvise(block, size, MADV_HUGEPAGE);  // Advice: 4 KiB pages where refused.
    return block;
  }

  void do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/) override {
    LF_ASSERT(munmap(p, mapped_bytes(bytes)) == 0);
  }

  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

}  // namespace

std::pmr::memory_resource* huge_page_resource() {
  static HugePageResource resource;
  return &resource;
}

}  // namespace lf::engine
