// The outbox's retry schedule: backoff, expiry, and the link coming back.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>

#include "retry.hpp"

using chat::RetrySchedule;
using std::chrono::milliseconds;
using TimePoint = RetrySchedule::Clock::time_point;

TEST_SUITE("retry_schedule") {
    TEST_CASE("the delay doubles from initial up to the cap") {
        const RetrySchedule schedule{milliseconds(500), milliseconds(3000)};
        struct Case {
            unsigned attempts;
            milliseconds delay;
        };
        const Case cases[] = {{1, milliseconds(500)},  {2, milliseconds(1000)},
                              {3, milliseconds(2000)}, {4, milliseconds(3000)},
                              {5, milliseconds(3000)}, {40, milliseconds(3000)}};
        const TimePoint now{milliseconds(10'000)};
        for (const auto& c : cases) {
            CAPTURE(c.attempts);
            CHECK(schedule.next_due(now, c.attempts) - now == c.delay);
            CHECK(chat::retry_delay(c.attempts, schedule.initial, schedule.cap) == c.delay);
        }
        CHECK(schedule.first_due(now) - now == milliseconds(500));
    }

    TEST_CASE("the tick is at most 100 ms, shorter for a shorter initial delay") {
        struct Case {
            milliseconds initial, tick;
        };
        const Case cases[] = {{milliseconds(500), milliseconds(100)},
                              {milliseconds(100), milliseconds(100)},
                              {milliseconds(20), milliseconds(20)}};
        for (const auto& c : cases) {
            CAPTURE(c.initial.count());
            CHECK(RetrySchedule{c.initial, milliseconds(1000)}.tick() == c.tick);
        }
    }

    TEST_CASE("a message expires at its expiry time") {
        struct Case {
            std::int64_t now, expires;
            bool expired;
        };
        const Case cases[] = {{999, 1000, false}, {1000, 1000, true}, {1001, 1000, true}};
        for (const auto& c : cases) {
            CAPTURE(c.now);
            CHECK(RetrySchedule::expired(c.now, c.expires) == c.expired);
        }
    }

    TEST_CASE("an ack after a silence brings the peer's later retries forward") {
        const RetrySchedule schedule{milliseconds(500), milliseconds(30'000)};
        const TimePoint now{milliseconds(100'000)};
        struct Case {
            const char* name;
            std::optional<milliseconds> previous_ack_ago;
            bool link_back;
        };
        const Case cases[] = {{"the first ack ever", std::nullopt, false},
                              {"acks in a row", milliseconds(100), false},
                              {"exactly one initial delay", milliseconds(500), false},
                              {"after a silence", milliseconds(501), true}};
        for (const auto& c : cases) {
            CAPTURE(c.name);
            std::optional<TimePoint> previous;
            if (c.previous_ack_ago) previous = now - *c.previous_ack_ago;
            CHECK(schedule.link_back(previous, now) == c.link_back);
        }
        struct Due {
            milliseconds in;
            bool brought_forward;
        };
        const Due dues[] = {{milliseconds(0), false},
                            {milliseconds(500), false},
                            {milliseconds(501), true},
                            {milliseconds(20'000), true}};
        for (const auto& d : dues) {
            CAPTURE(d.in.count());
            CHECK(schedule.bring_forward(now + d.in, now) == d.brought_forward);
        }
    }
}
