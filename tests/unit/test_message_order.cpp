// Per-sender ordering at the receiver: which messages show when, given
// the order they arrive in and the floors their senders report.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "message_order.hpp"

using chat::MessageOrder;
using Seqs = std::vector<std::uint64_t>;

namespace {
struct Arrival {
    std::uint64_t seq, floor;
    Seqs shown;  // what arrive() returns
};

void play(MessageOrder& order, const std::string& stream, const std::vector<Arrival>& arrivals) {
    for (const auto& a : arrivals) {
        CAPTURE(a.seq);
        CAPTURE(a.floor);
        CHECK(order.arrive(stream, a.seq, a.floor) == a.shown);
    }
}
}  // namespace

TEST_SUITE("message_order") {
    TEST_CASE("arrivals in order, reordered, lost and retried") {
        struct Case {
            const char* name;
            std::vector<Arrival> arrivals;
            std::uint64_t next;
            std::size_t held;
        };
        const Case cases[] = {
            {"in order", {{1, 1, {1}}, {2, 1, {2}}, {3, 2, {3}}}, 4, 0},
            {"swapped pair", {{2, 1, {}}, {1, 1, {1, 2}}}, 3, 0},
            {"one lost, its retry fills the gap",
             {{1, 1, {1}}, {3, 2, {}}, {4, 2, {}}, {2, 2, {2, 3, 4}}},
             5,
             0},
            {"a first contact starts at the floor",
             {{7, 5, {}}, {5, 5, {5}}, {6, 5, {6, 7}}},
             8,
             0},
            {"a copy of a shown one shows again (the store drops it)",
             {{1, 1, {1}}, {1, 1, {1}}},
             2,
             0},
            {"a gap the sender gave up: its floor releases what waits",
             {{1, 1, {1}}, {3, 2, {}}, {4, 3, {3, 4}}},
             5,
             0},
            {"a floor past held ones shows them in order before the new one",
             {{1, 1, {1}}, {3, 2, {}}, {5, 2, {}}, {6, 6, {3, 5, 6}}},
             7,
             0},
            {"a floor at a held one releases it and the run after",
             {{1, 1, {1}}, {3, 2, {}}, {4, 2, {}}, {6, 3, {3, 4}}},
             5,
             1},
            {"a late one below a raised floor shows at once", {{3, 3, {3}}, {2, 2, {2}}}, 4, 0},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            MessageOrder order;
            play(order, "peer s", c.arrivals);
            CHECK(order.next("peer s") == c.next);
            CHECK(order.held("peer s") == c.held);
        }
    }

    TEST_CASE("streams are independent") {
        MessageOrder order;
        CHECK(order.arrive("a", 2, 1) == Seqs{});
        CHECK(order.arrive("b", 1, 1) == Seqs{1});
        CHECK(order.arrive("a", 1, 1) == Seqs{1, 2});
        CHECK(order.size() == 2);
    }

    TEST_CASE("skip_gap shows the first held one and the run after it") {
        MessageOrder order;
        play(order, "s", {{1, 1, {1}}, {3, 2, {}}, {4, 2, {}}, {6, 2, {}}});
        CHECK(order.skip_gap("s") == Seqs{3, 4});
        CHECK(order.next("s") == 5);
        CHECK(order.skip_gap("s") == Seqs{6});
        CHECK(order.skip_gap("s") == Seqs{});
        CHECK(order.skip_gap("unknown") == Seqs{});
        CHECK(order.arrive("s", 2, 2) == Seqs{2});  // late: nothing waits for it
    }

    TEST_CASE("restore picks up a stream where the store left it") {
        MessageOrder order;
        CHECK_FALSE(order.knows("s"));
        order.restore("s", 11, {12, 13});
        CHECK(order.knows("s"));
        CHECK(order.arrive("s", 11, 10) == Seqs{11, 12, 13});
        order.forget("s");
        CHECK_FALSE(order.knows("s"));
        CHECK(order.next("s") == 0);
    }

    TEST_CASE("a peer that skips numbers cannot make us hold without bound") {
        MessageOrder order;
        CHECK(order.arrive("s", 1, 1) == Seqs{1});
        for (std::uint64_t seq = 3; seq < 3 + MessageOrder::kMaxHeldPerStream; ++seq) {
            REQUIRE(order.arrive("s", seq, 1).empty());
        }
        const auto shown = order.arrive("s", 3 + MessageOrder::kMaxHeldPerStream, 1);
        CHECK(shown.size() == MessageOrder::kMaxHeldPerStream + 1);
        CHECK(shown.front() == 3);
        CHECK(order.held("s") == 0);
    }

    TEST_CASE("trim drops idle streams only, once past the bound") {
        MessageOrder order;
        order.arrive("idle", 1, 1);
        order.arrive("waiting", 2, 1);
        order.trim(2);
        CHECK(order.size() == 2);
        order.arrive("idle2", 1, 1);
        order.trim(2);
        CHECK(order.size() == 1);
        CHECK(order.knows("waiting"));
    }

    TEST_CASE("skip_gaps_through skips every gap up to the overdue seq") {
        struct Case {
            const char* name;
            Seqs held;  // arrived with floor 1 after 1 was shown
            std::uint64_t through;
            Seqs shown;
            std::uint64_t next;
        };
        const Case cases[] = {
            {"one gap", {3, 4}, 3, {3, 4}, 5},
            {"two gaps, the later one overdue", {3, 5, 6}, 5, {3, 5, 6}, 7},
            {"two gaps, only the first overdue", {3, 5}, 3, {3}, 4},
            {"nothing held", {}, 9, {}, 2},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            MessageOrder order;
            order.arrive("s", 1, 1);
            for (const auto seq : c.held) REQUIRE(order.arrive("s", seq, 1).empty());
            CHECK(order.skip_gaps_through("s", c.through) == c.shown);
            CHECK(order.next("s") == c.next);
        }
    }
}
