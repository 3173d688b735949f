#pragma once
// How a transfer's files are spread over the worker processes, and how
// their progress adds up. Pure logic, unit-tested.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace chat {

struct TransferJob {
    std::vector<std::size_t> files;  // indexes into the caller's list, ascending
    std::uint64_t bytes = 0;
};

// What one more file costs beyond its bytes (open, create, rename, a
// header): many small files weigh more than their size says.
inline constexpr std::uint64_t kPerFileCostBytes = 64 * 1024;

// Splits the files (by size) into at most `workers` jobs of similar cost,
// largest first onto the least loaded job, so several large files and
// many small ones move in parallel. Empty jobs are left out.
std::vector<TransferJob> split_jobs(const std::vector<std::uint64_t>& file_sizes,
                                    std::size_t workers);

// The transfer's rate limit (bytes per second, 0: none) shared by its send
// jobs that are running now: evenly, the remainder to the first, so the
// shares add up to the limit. Recomputed as each job starts or ends, so a
// job that finishes gives its share to those still running.
std::vector<std::uint64_t> share_rate(std::uint64_t max_rate, std::size_t running_jobs);

// Adds up progress reports and derives the rate (over the last few
// seconds) and the time left.
class ProgressTracker {
public:
    using Clock = std::chrono::steady_clock;

    struct Snapshot {
        std::uint64_t bytes_done = 0;
        std::uint64_t total_bytes = 0;
        std::size_t files_done = 0;
        std::size_t total_files = 0;
        double bytes_per_second = 0;
        std::optional<double> seconds_left;  // unknown until there is a rate
    };

    ProgressTracker(std::uint64_t total_bytes, std::size_t total_files, Clock::time_point start,
                    std::chrono::milliseconds window = std::chrono::seconds(5));

    // Bytes may go back (a file re-sent after a hash mismatch): pass a
    // negative delta; the totals never leave [0, total]. `already_there`:
    // how much of `bytes` the receiver had before (a resume), done but not
    // moved now, so left out of the rate and the time left.
    void add(std::int64_t bytes, std::size_t files, Clock::time_point now,
             std::uint64_t already_there = 0);
    Snapshot snapshot(Clock::time_point now) const;

private:
    std::uint64_t total_bytes_;
    std::size_t total_files_;
    std::uint64_t bytes_done_ = 0;
    std::size_t files_done_ = 0;
    std::chrono::milliseconds window_;
    std::uint64_t moved_ = 0;  // bytes_done_ less what was there already
    std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;  // (when, moved_)
};

}  // namespace chat
