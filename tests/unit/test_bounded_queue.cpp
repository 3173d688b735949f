#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "bounded_queue.hpp"
#include "retry.hpp"

using chat::BoundedQueue;

TEST_SUITE("bounded_queue") {
    TEST_CASE("first in, first out; try_push refuses when full") {
        BoundedQueue<int> q(2);
        CHECK(q.try_push(1));
        CHECK(q.try_push(2));
        CHECK_FALSE(q.try_push(3));
        CHECK(q.pop() == 1);
        CHECK(q.pop() == 2);
    }

    TEST_CASE("close drains what is left, then ends; pushes fail") {
        BoundedQueue<int> q(4);
        q.push(1);
        q.close();
        CHECK_FALSE(q.push(2));
        CHECK(q.pop() == 1);
        CHECK(q.pop() == std::nullopt);
    }

    TEST_CASE("pop_batch takes what is there up to the maximum") {
        BoundedQueue<int> q(10);
        for (int i = 0; i < 5; ++i) q.push(i);
        std::vector<int> batch;
        CHECK(q.pop_batch(batch, 3) == 3);
        CHECK(batch == std::vector<int>{0, 1, 2});
        CHECK(q.pop_batch(batch, 10) == 2);
        q.close();
        CHECK(q.pop_batch(batch, 10) == 0);
    }

    TEST_CASE("pop_batch_for gives up after its timeout, or takes what comes") {
        BoundedQueue<int> q(4);
        std::vector<int> batch;
        const auto start = std::chrono::steady_clock::now();
        CHECK(q.pop_batch_for(batch, 10, std::chrono::milliseconds(30)) == 0);
        CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
        CHECK_FALSE(q.closed());
        std::thread producer([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            q.push(7);
        });
        CHECK(q.pop_batch_for(batch, 10, std::chrono::seconds(10)) == 1);
        producer.join();
        CHECK(batch == std::vector<int>{7});
        q.close();
        CHECK(q.closed());
        CHECK(q.pop_batch_for(batch, 10, std::chrono::seconds(10)) == 0);  // at once
    }

    TEST_CASE("a blocked producer and consumer across threads lose nothing") {
        BoundedQueue<int> q(3);
        constexpr int kItems = 10000;
        std::thread producer([&] {
            for (int i = 0; i < kItems; ++i) REQUIRE(q.push(i));
            q.close();
        });
        long long sum = 0;
        int count = 0, last = -1;
        bool ordered = true;
        while (auto v = q.pop()) {
            sum += *v;
            ordered = ordered && *v == last + 1;
            last = *v;
            ++count;
        }
        producer.join();
        CHECK(count == kItems);
        CHECK(ordered);
        CHECK(sum == static_cast<long long>(kItems) * (kItems - 1) / 2);
    }

    TEST_CASE("close wakes a consumer waiting on an empty queue") {
        BoundedQueue<int> q(1);
        std::thread consumer([&] { CHECK(q.pop() == std::nullopt); });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        q.close();
        consumer.join();
    }
}

TEST_SUITE("retry") {
    TEST_CASE("backoff doubles up to the cap") {
        using ms = std::chrono::milliseconds;
        const struct {
            unsigned attempt;
            long long delay;
        } cases[] = {{1, 500}, {2, 1000}, {3, 2000}, {6, 16000}, {7, 30000}, {50, 30000}, {0, 500}};
        for (const auto& c : cases) {
            CAPTURE(c.attempt);
            CHECK(chat::retry_delay(c.attempt, ms(500), ms(30000)) == ms(c.delay));
        }
    }
}
