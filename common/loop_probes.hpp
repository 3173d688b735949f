#pragma once
// The service watchdog's verdict, apart from its timer: which of the
// daemon's loops failed to answer the probes sent at the previous tick.
// Pure; the ServiceWatchdog (control thread) keeps one.
#include <cstdint>
#include <string>

namespace chat {

class LoopProbes {
public:
    // At a tick: the probe answers counted so far by the UDP loops and by
    // the store. Returns who is stuck ("" if every loop answered, or no
    // probe was out), and counts probes as sent again.
    std::string tick(std::uint64_t udp_answers, std::uint64_t store_answers);

private:
    bool out_ = false;  // probes sent at the last tick, to be answered by the next
    std::uint64_t udp_seen_ = 0;
    std::uint64_t store_seen_ = 0;
};

}  // namespace chat
