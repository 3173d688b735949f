// The receiver's ordering decisions: duplicate, show, show among released
// ones, hold; the runs of overdue held messages; how long a gap is waited.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "inbound_order.hpp"
#include "message_order.hpp"

using namespace chat;
using Seqs = std::vector<std::uint64_t>;

TEST_SUITE("inbound_order") {
    TEST_CASE("an arrival is a duplicate, unordered or ordered") {
        struct Case {
            bool committed;
            std::uint64_t seq;
            ArrivalKind kind;
        };
        const Case cases[] = {{true, 0, ArrivalKind::duplicate},
                              {true, 5, ArrivalKind::duplicate},
                              {false, 0, ArrivalKind::unordered},
                              {false, 5, ArrivalKind::ordered}};
        for (const auto& c : cases) {
            CAPTURE(c.seq);
            CHECK(classify_arrival(c.committed, c.seq) == c.kind);
        }
    }

    TEST_CASE("the seqs its arrival made due decide a message's place") {
        struct Case {
            const char* name;
            std::uint64_t seq;
            Seqs due;
            OrderDecision decision;
            Seqs before, after;
        };
        const Case cases[] = {
            {"due alone", 4, {4}, OrderDecision::show_alone, {}, {}},
            {"nothing due: held", 6, {}, OrderDecision::hold, {}, {}},
            {"fills a gap: shown, then the held run",
             2,
             {2, 3, 4},
             OrderDecision::show_among_released,
             {},
             {3, 4}},
            {"a floor released held ones before it",
             6,
             {3, 5, 6},
             OrderDecision::show_among_released,
             {3, 5},
             {}},
            {"a floor released others, it still waits", 9, {3, 4}, OrderDecision::hold, {3, 4}, {}},
            {"a second copy of it is ignored",
             3,
             {3, 4, 3},
             OrderDecision::show_among_released,
             {},
             {4}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            const OrderPlan plan = plan_order(c.seq, c.due);
            CHECK(to_string(plan.decision) == std::string(to_string(c.decision)));
            CHECK(plan.released_before == c.before);
            CHECK(plan.released_after == c.after);
        }
    }

    TEST_CASE("decisions follow MessageOrder through a lost message and its retry") {
        MessageOrder order;
        struct Step {
            std::uint64_t seq, floor;
            OrderDecision decision;
        };
        const Step steps[] = {{1, 1, OrderDecision::show_alone},
                              {3, 2, OrderDecision::hold},
                              {4, 2, OrderDecision::hold},
                              {2, 2, OrderDecision::show_among_released},
                              {5, 5, OrderDecision::show_alone}};
        for (const auto& s : steps) {
            CAPTURE(s.seq);
            CHECK(plan_order(s.seq, order.arrive("p s", s.seq, s.floor)).decision == s.decision);
        }
    }

    TEST_CASE("overdue held messages group into one run per stream") {
        struct Key {
            std::string peer, stream;
            std::uint64_t seq;
        };
        using Runs = std::vector<std::pair<std::size_t, std::size_t>>;
        struct Case {
            const char* name;
            std::vector<Key> keys;
            Runs runs;
        };
        const Case cases[] = {
            {"none", {}, {}},
            {"one", {{"a", "s", 3}}, {{0, 0}}},
            {"one stream", {{"a", "s", 3}, {"a", "s", 5}}, {{0, 1}}},
            {"two streams of one peer", {{"a", "s", 3}, {"a", "t", 5}}, {{0, 0}, {1, 1}}},
            {"two peers", {{"a", "s", 3}, {"a", "s", 4}, {"b", "s", 2}}, {{0, 1}, {2, 2}}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            CHECK(stream_runs(c.keys) == c.runs);
        }
    }

    TEST_CASE("a gap is waited for longer than a sender retries") {
        using std::chrono::milliseconds;
        struct Case {
            std::int64_t retry_max_ms;
            milliseconds limit, scan;
        };
        const Case cases[] = {{100, milliseconds(1000), milliseconds(250)},
                              {1000, milliseconds(4000), milliseconds(1000)},
                              {30000, milliseconds(120000), milliseconds(5000)}};
        for (const auto& c : cases) {
            CAPTURE(c.retry_max_ms);
            CHECK(hold_limit(c.retry_max_ms) == c.limit);
            CHECK(hold_scan_period(c.limit) == c.scan);
        }
    }

    TEST_CASE("keys join peer and stream or id") {
        CHECK(order_key("10.0.0.1:7890", "abc") == "10.0.0.1:7890 abc");
        CHECK(dedup_key("10.0.0.1:7890", "0123") == "10.0.0.1:7890 0123");
    }
}
