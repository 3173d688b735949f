#include <doctest/doctest.h>

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

    TEST_CASE("zero capacity is refused") {
        CHECK_THROWS_WITH_AS(DedupWindow(0), "DedupWindow capacity must be positive",
                             std::invalid_argument);
    }
}
