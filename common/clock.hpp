#pragma once
// Wall-clock time as the store and the wire carry it. Pure and thread-free.
#include <chrono>
#include <cstdint>

namespace chat {

// Milliseconds since the Unix epoch, from the system clock.
inline std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace chat
