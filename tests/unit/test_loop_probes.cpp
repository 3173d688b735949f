// The watchdog's verdict: which loop did not answer the last tick's probes.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "loop_probes.hpp"

using chat::LoopProbes;

TEST_SUITE("loop_probes") {
    TEST_CASE("a loop that leaves the last tick's probe unanswered is named") {
        struct Tick {
            std::uint64_t udp, store;
            const char* stuck;
        };
        struct Case {
            const char* name;
            std::vector<Tick> ticks;
        };
        const Case cases[] = {
            {"the first tick sends the first probes", {{0, 0, ""}}},
            {"both answer", {{0, 0, ""}, {1, 1, ""}, {2, 2, ""}}},
            {"the UDP loops stop", {{0, 0, ""}, {1, 1, ""}, {1, 2, "the UDP receiver or sender"}}},
            {"the store stops", {{0, 0, ""}, {1, 0, "the store"}}},
            {"both stop", {{5, 7, ""}, {5, 7, "the UDP receiver or sender and the store"}}},
            {"answering again",
             {{0, 0, ""}, {0, 0, "the UDP receiver or sender and the store"}, {1, 1, ""}}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            LoopProbes probes;
            for (const auto& t : c.ticks) {
                CAPTURE(t.udp);
                CAPTURE(t.store);
                CHECK(probes.tick(t.udp, t.store) == t.stuck);
            }
        }
    }
}
