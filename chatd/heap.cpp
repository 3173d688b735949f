#include "heap.hpp"

#include <cstdint>

#if CHAT_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

namespace chat {

#if CHAT_JEMALLOC

void tune_allocator() {}

std::size_t heap_bytes_in_use() {
    // jemalloc's statistics are a snapshot, refreshed by writing the epoch.
    std::uint64_t epoch = 1;
    std::size_t size = sizeof epoch;
    mallctl("epoch", &epoch, &size, &epoch, size);
    std::size_t allocated = 0;
    size = sizeof allocated;
    if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) return 0;
    return allocated;
}

#else

void tune_allocator() {
    // Keep freed memory rather than hand it back after each burst: each
    // trim was an madvise and a TLB flush on every CPU, and the next burst
    // faulted the pages in again (the store thread's largest kernel cost).
    // It is bounded by the peak, which stays what it was.
    ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
    ::mallopt(M_MMAP_THRESHOLD, 16 << 20);
}

std::size_t heap_bytes_in_use() {
    // Not meaningful under sanitizers, which bring their own allocator.
    const struct mallinfo2 heap = ::mallinfo2();
    return heap.uordblks + heap.hblkhd;
}

#endif

}  // namespace chat
