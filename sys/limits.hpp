#pragma once
// This process's descriptor limits, set once at start-up on the main
// thread, before any other thread exists.
#include <cstddef>

namespace chat {

// A transfer holds one descriptor per file, on both sides of the control
// socket: raises the soft RLIMIT_NOFILE to the hard one (often 1024 ->
// 524288), as systemd advises for programs that need many.
void raise_open_file_limit();

// Grows this process's descriptor table to hold `count` descriptors (at
// most the soft limit). Call it before any thread starts: in a threaded
// process each doubling waits for an RCU grace period (10-25 ms here), and
// receiving 20,000 descriptors for a transfer paid five of them.
void reserve_descriptor_table(std::size_t count);

}  // namespace chat
