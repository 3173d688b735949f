#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "transfer_jobs.hpp"

using namespace chat;
using namespace std::chrono_literals;

TEST_SUITE("transfer_jobs") {
    TEST_CASE("every file lands in exactly one job") {
        const std::vector<std::uint64_t> sizes = {5, 1000, 0, 7, 1u << 30, 42, 3, 1u << 20};
        for (std::size_t workers : {1u, 2u, 3u, 4u, 8u, 20u}) {
            CAPTURE(workers);
            const auto jobs = split_jobs(sizes, workers);
            CHECK(jobs.size() <= std::min(workers, sizes.size()));
            std::multiset<std::size_t> seen;
            std::uint64_t bytes = 0;
            for (const auto& job : jobs) {
                CHECK_FALSE(job.files.empty());
                CHECK(std::is_sorted(job.files.begin(), job.files.end()));
                seen.insert(job.files.begin(), job.files.end());
                bytes += job.bytes;
            }
            CHECK(seen.size() == sizes.size());
            CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == sizes.size());
            CHECK(bytes == std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0}));
        }
    }

    TEST_CASE("large files go to different workers; small ones spread evenly") {
        const std::uint64_t gib = 1u << 30;
        auto jobs = split_jobs({gib, gib, gib, gib}, 4);
        REQUIRE(jobs.size() == 4);
        for (const auto& job : jobs) CHECK(job.files.size() == 1);

        const std::vector<std::uint64_t> small(1000, 4096);
        jobs = split_jobs(small, 4);
        REQUIRE(jobs.size() == 4);
        for (const auto& job : jobs) CHECK(job.files.size() == 250);
    }

    TEST_CASE("no files, no jobs; fewer files than workers") {
        CHECK(split_jobs({}, 4).empty());
        CHECK(split_jobs({1, 2}, 4).size() == 2);
        CHECK(split_jobs({1, 2}, 0).size() == 1);
    }

    TEST_CASE("progress: totals, rate over the window, time left") {
        const auto t0 = ProgressTracker::Clock::time_point{} + 100s;
        ProgressTracker p(1000, 4, t0, 5s);
        auto s = p.snapshot(t0);
        CHECK(s.bytes_done == 0);
        CHECK_FALSE(s.seconds_left.has_value());

        p.add(100, 1, t0 + 1s);
        p.add(100, 1, t0 + 2s);
        s = p.snapshot(t0 + 2s);
        CHECK(s.bytes_done == 200);
        CHECK(s.files_done == 2);
        CHECK(s.bytes_per_second == doctest::Approx(100));
        REQUIRE(s.seconds_left.has_value());
        CHECK(*s.seconds_left == doctest::Approx(8));

        // Old samples leave the window: a stall shows as a falling rate.
        p.add(0, 0, t0 + 20s);
        CHECK(p.snapshot(t0 + 20s).bytes_per_second < 20);

        p.add(-50, 0, t0 + 21s);  // a file re-sent
        CHECK(p.snapshot(t0 + 21s).bytes_done == 150);
        p.add(5000, 10, t0 + 22s);  // never past the totals
        s = p.snapshot(t0 + 22s);
        CHECK(s.bytes_done == 1000);
        CHECK(s.files_done == 4);
        CHECK(*s.seconds_left == 0);
    }

    TEST_CASE("what the receiver had already is done, but not part of the rate") {
        const auto t0 = ProgressTracker::Clock::time_point{} + 100s;
        ProgressTracker p(10'000, 2, t0, 5s);
        p.add(6000, 0, t0 + 1s, 5000);  // a resumed file: 5000 were there, 1000 moved
        p.add(1000, 0, t0 + 2s);
        const auto s = p.snapshot(t0 + 2s);
        CHECK(s.bytes_done == 7000);
        CHECK(s.bytes_per_second == doctest::Approx(1000));  // not 3500
        REQUIRE(s.seconds_left.has_value());
        CHECK(*s.seconds_left == doctest::Approx(3));
    }

    TEST_CASE("the rate limit is the transfer's: shared by the jobs running now") {
        struct Row {
            std::uint64_t max_rate;
            std::size_t running;
            std::vector<std::uint64_t> shares;
        };
        const Row rows[] = {
            {20'000'000, 5, {4'000'000, 4'000'000, 4'000'000, 4'000'000, 4'000'000}},
            // The small files' jobs are done: the large file's gets it all.
            {20'000'000, 1, {20'000'000}},
            {10, 3, {4, 3, 3}},
            {2, 3, {1, 1, 1}},     // every job still moves
            {1, 4, {1, 1, 1, 1}},  // and none is left without a limit
            {0, 3, {0, 0, 0}},     // no limit
            {5, 0, {}},
        };
        for (const auto& row : rows) {
            CAPTURE(row.max_rate);
            CAPTURE(row.running);
            CHECK(share_rate(row.max_rate, row.running) == row.shares);
        }
        for (std::size_t running = 1; running <= 64; ++running) {
            const auto shares = share_rate(1'000'003, running);
            CHECK(std::accumulate(shares.begin(), shares.end(), std::uint64_t{0}) == 1'000'003);
        }
    }
}
