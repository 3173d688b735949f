#pragma once
#include <algorithm>
#include <chrono>

namespace chat {

// Delay before retry number `attempt` (1 = the first retry): doubles from
// `initial` up to `cap`, so a peer that is down costs little traffic.
inline std::chrono::milliseconds retry_delay(unsigned attempt, std::chrono::milliseconds initial,
                                             std::chrono::milliseconds cap) {
    auto delay = initial;
    for (unsigned i = 1; i < attempt && delay < cap; ++i) delay *= 2;
    return std::min(delay, cap);
}

}  // namespace chat
