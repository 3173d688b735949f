#pragma once
// The allocator behind chatd: jemalloc when built with CHAT_JEMALLOC (the
// default), glibc's malloc otherwise (sanitizer builds bring their own).
#include <cstddef>

namespace chat {

// Once at start, before any thread: settings for glibc's malloc; nothing
// for jemalloc, whose defaults already suit a long-running daemon.
void tune_allocator();

// Bytes the program holds in the heap now, not counting free pages the
// allocator keeps: a figure that grows with each finished transfer is
// memory kept, which RSS would blur.
std::size_t heap_bytes_in_use();

}  // namespace chat
