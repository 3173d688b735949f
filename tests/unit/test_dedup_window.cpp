#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <set>
#include <stdexcept>
#include <string>

#include "dedup_window.hpp"

using chat::DedupWindow;

TEST_SUITE("dedup_window") {
    TEST_CASE("a key is new once, then a duplicate") {
        DedupWindow window(4);
        CHECK(window.insert("a"));
        CHECK_FALSE(window.insert("a"));
        CHECK(window.insert("b"));
        CHECK(window.contains("a"));
        CHECK(window.size() == 2);
    }

    TEST_CASE("the oldest key is forgotten past capacity") {
        DedupWindow window(3);
        for (const char* k : {"a", "b", "c", "d"}) CHECK(window.insert(k));
        CHECK(window.size() == 3);
        CHECK_FALSE(window.contains("a"));
        CHECK(window.contains("d"));
        CHECK(window.insert("a"));  // new again: the store's unique index catches it
        CHECK_FALSE(window.contains("b"));
    }

    TEST_CASE("a duplicate does not refresh or grow the window") {
        DedupWindow window(2);
        window.insert("a");
        window.insert("b");
        CHECK_FALSE(window.insert("a"));
        window.insert("c");
        CHECK_FALSE(window.contains("a"));
        CHECK(window.size() == 2);
    }

    TEST_CASE("keys short and long stay found as the window turns over") {
        // Short keys live inside their string, long ones on the heap; both
        // must stay found as the ring reuses its places.
        DedupWindow window(100);
        const auto key = [](int i) {
            return (i % 2 ? "127.0.0.1:7890 0191a2b3c4d5e6f708192a3b4c5d6e7f " : "") +
                   std::to_string(i);
        };
        for (int i = 0; i < 1000; ++i) CHECK(window.insert(key(i)));
        CHECK(window.size() == 100);
        for (int i = 0; i < 900; ++i) CHECK_FALSE(window.contains(key(i)));
        for (int i = 900; i < 1000; ++i) {
            CHECK(window.contains(key(i)));
            CHECK_FALSE(window.insert(key(i)));
        }
    }

    TEST_CASE("it answers as a queue of the last N distinct keys would") {
        // Random keys from a small pool, so duplicates, evictions and
        // wrap-arounds of the ring all happen many times over.
        for (const std::size_t capacity : {1, 2, 3, 7, 64, 100}) {
            CAPTURE(capacity);
            DedupWindow window(capacity);
            std::deque<std::string> order;
            std::set<std::string> model;
            std::mt19937 random(static_cast<unsigned>(capacity));
            for (int step = 0; step < 20000; ++step) {
                const std::string key = "peer " + std::to_string(random() % (capacity * 3 + 2));
                const bool fresh = !model.contains(key);
                if (random() % 4 == 0) {
                    REQUIRE(window.contains(key) == !fresh);
                    continue;
                }
                REQUIRE(window.insert(key) == fresh);
                if (fresh) {
                    order.push_back(key);
                    model.insert(key);
                    if (order.size() > capacity) {
                        model.erase(order.front());
                        order.pop_front();
                    }
                }
                REQUIRE(window.size() == order.size());
            }
            for (const auto& key : order) CHECK(window.contains(key));
        }
    }

    TEST_CASE("zero capacity is refused") {
        CHECK_THROWS_WITH_AS(DedupWindow(0), "DedupWindow capacity must be positive",
                             std::invalid_argument);
    }
}
