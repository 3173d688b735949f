#include "loop_probes.hpp"

namespace chat {

std::string LoopProbes::tick(std::uint64_t udp_answers, std::uint64_t store_answers) {
    std::string stuck;
    if (out_ && udp_answers == udp_seen_) stuck = "the UDP receiver or sender";
    if (out_ && store_answers == store_seen_)
        stuck += (stuck.empty() ? "" : " and ") + std::string("the store");
    udp_seen_ = udp_answers;
    store_seen_ = store_answers;
    out_ = true;
    return stuck;
}

}  // namespace chat
