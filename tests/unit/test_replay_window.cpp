#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "replay_window.hpp"

using chat::kRejectAfterMessages;
using chat::ReplayWindow;

namespace {

struct Step {
    std::uint64_t counter;
    bool accepted;
};

// Feeds the steps in order; check() must agree with accept() at each one.
void run_steps(ReplayWindow& window, const std::vector<Step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        CAPTURE(i);
        CAPTURE(steps[i].counter);
        CHECK(window.check(steps[i].counter) == steps[i].accepted);
        CHECK(window.accept(steps[i].counter) == steps[i].accepted);
    }
}

// The obvious model: every counter ever accepted, and the highest of them.
class SetModel {
public:
    bool accept(std::uint64_t counter) {
        if (counter >= kRejectAfterMessages || seen_.contains(counter)) return false;
        if (counter < highest_ && highest_ - counter > ReplayWindow::kWindowSize) return false;
        seen_.insert(counter);
        if (counter > highest_) highest_ = counter;
        return true;
    }

private:
    std::set<std::uint64_t> seen_;
    std::uint64_t highest_ = 0;
};

constexpr std::uint64_t kLimit = ReplayWindow::kWindowSize + 1;
constexpr std::uint64_t kReject = kRejectAfterMessages;

}  // namespace

TEST_SUITE("replay_window") {
    TEST_CASE("wireguard-go's table: in order, duplicates, behind and ahead of the window") {
        // replay_test.go's TestReplay (ported there from the Linux kernel), step by step.
        ReplayWindow window;
        run_steps(window, {{0, true},
                           {1, true},
                           {1, false},
                           {9, true},
                           {8, true},
                           {7, true},
                           {7, false},
                           {kLimit, true},
                           {kLimit - 1, true},
                           {kLimit - 1, false},
                           {kLimit - 2, true},
                           {2, true},
                           {2, false},
                           {kLimit + 16, true},
                           {3, false},
                           {kLimit + 16, false},
                           {kLimit * 4, true},
                           {kLimit * 4 - (kLimit - 1), true},
                           {10, false},
                           {kLimit * 4 - kLimit, false},
                           {kLimit * 4 - (kLimit + 1), false},
                           {kLimit * 4 - (kLimit - 2), true},
                           {kLimit * 4 + 1 - kLimit, false},
                           {0, false},
                           {kReject, false},
                           {kReject - 1, true},
                           {kReject, false},
                           {kReject - 1, false},
                           {kReject - 2, true},
                           {kReject + 1, false},
                           {kReject + 2, false},
                           {kReject - 2, false},
                           {kReject - 3, true},
                           {0, false}});
    }

    TEST_CASE("a full window in order, then the counter just at its edge") {
        ReplayWindow window;
        for (std::uint64_t i = 1; i <= ReplayWindow::kWindowSize; ++i) REQUIRE(window.accept(i));
        run_steps(window, {{0, true}, {0, false}});
    }

    TEST_CASE("one past the full window: the oldest falls out") {
        ReplayWindow window;
        for (std::uint64_t i = 2; i <= ReplayWindow::kWindowSize + 1; ++i)
            REQUIRE(window.accept(i));
        run_steps(window, {{1, true}, {0, false}});
    }

    TEST_CASE("a full window backwards, every counter new, then one too old") {
        ReplayWindow window;
        for (std::uint64_t i = ReplayWindow::kWindowSize + 1; i > 0; --i) REQUIRE(window.accept(i));
        run_steps(window, {{0, false}, {1, false}, {ReplayWindow::kWindowSize + 2, true}});
    }

    TEST_CASE("a jump ahead of the ring clears every word it held") {
        const std::uint64_t jumps[] = {ReplayWindow::kWindowSize, ReplayWindow::kWindowSize + 64,
                                       ReplayWindow::kWindowSize * 2,
                                       ReplayWindow::kWindowSize * 5 + 7, std::uint64_t{1} << 40};
        for (const std::uint64_t jump : jumps) {
            CAPTURE(jump);
            ReplayWindow window;
            for (std::uint64_t i = 0; i < 200; ++i) REQUIRE(window.accept(i));
            REQUIRE(window.accept(199 + jump));
            // Every counter in the window behind the new highest is new,
            // though the ring place it maps to held an accepted one before.
            for (std::uint64_t back = 1; back <= ReplayWindow::kWindowSize; ++back) {
                const std::uint64_t counter = 199 + jump - back;
                if (counter < 200) break;
                REQUIRE(window.check(counter));
            }
        }
    }

    TEST_CASE("check changes nothing") {
        ReplayWindow window;
        CHECK(window.check(5000));
        CHECK(window.accept(0));  // 5000 was only looked at: the window did not move
        CHECK(window.check(0) == false);
        CHECK(window.accept(5000));
        CHECK_FALSE(window.check(5000));
    }

    TEST_CASE("a session's own reject limit") {
        ReplayWindow window(100);
        run_steps(window, {{99, true}, {100, false}, {~std::uint64_t{0}, false}, {98, true}});
        CHECK(kRejectAfterMessages == 0xffff'ffff'ffff'dfffULL);
    }

    TEST_CASE("it answers as a set of every accepted counter would") {
        for (const unsigned seed : {1u, 2u, 3u, 4u}) {
            CAPTURE(seed);
            std::mt19937_64 random(seed);
            ReplayWindow window;
            SetModel model;
            std::uint64_t base = 0;
            for (int i = 0; i < 100'000; ++i) {
                // Mostly near the front, some reordering deep into the window
                // and past it, a few jumps ahead of the whole ring.
                const std::uint64_t roll = random() % 100;
                std::uint64_t counter = base;
                if (roll < 60)
                    counter = base + random() % 64;
                else if (roll < 95)
                    counter = base - std::min(base, random() % (ReplayWindow::kWindowSize + 200));
                else
                    counter = base + random() % (ReplayWindow::kWindowSize * 3);
                if (counter > base) base = counter;
                CAPTURE(counter);
                const bool expected = model.accept(counter);
                REQUIRE(window.check(counter) == expected);
                REQUIRE(window.accept(counter) == expected);
            }
        }
    }
}
