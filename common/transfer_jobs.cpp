#include "transfer_jobs.hpp"

#include <algorithm>
#include <numeric>

namespace chat {

std::vector<TransferJob> split_jobs(const std::vector<std::uint64_t>& file_sizes,
                                    std::size_t workers) {
    workers = std::max<std::size_t>(1, std::min(workers, file_sizes.size()));
    std::vector<std::size_t> order(file_sizes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return file_sizes[a] > file_sizes[b]; });

    std::vector<TransferJob> jobs(workers);
    std::vector<std::uint64_t> cost(workers, 0);
    for (const std::size_t file : order) {
        const auto least =
            static_cast<std::size_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
        jobs[least].files.push_back(file);
        jobs[least].bytes += file_sizes[file];
        cost[least] += file_sizes[file] + kPerFileCostBytes;
    }
    std::erase_if(jobs, [](const TransferJob& job) { return job.files.empty(); });
    for (auto& job : jobs) std::sort(job.files.begin(), job.files.end());  // directory order
    return jobs;
}

std::vector<std::uint64_t> share_rate(std::uint64_t max_rate, std::size_t running_jobs) {
    std::vector<std::uint64_t> shares(running_jobs, 0);
    if (max_rate == 0 || running_jobs == 0) return shares;
    const std::uint64_t each = max_rate / running_jobs;
    const std::uint64_t rest = max_rate % running_jobs;
    for (std::size_t i = 0; i < running_jobs; ++i) shares[i] = each + (i < rest ? 1 : 0);
    // A limit below the job count: each still sends, at one byte a second.
    for (auto& share : shares) share = std::max<std::uint64_t>(share, 1);
    return shares;
}

ProgressTracker::ProgressTracker(std::uint64_t total_bytes, std::size_t total_files,
                                 Clock::time_point start, std::chrono::milliseconds window)
    : total_bytes_(total_bytes), total_files_(total_files), window_(window) {
    samples_.emplace_back(start, 0);
}

void ProgressTracker::add(std::int64_t bytes, std::size_t files, Clock::time_point now,
                          std::uint64_t already_there) {
    if (bytes < 0) {
        const auto back = static_cast<std::uint64_t>(-bytes);
        bytes_done_ = back > bytes_done_ ? 0 : bytes_done_ - back;
        moved_ = back > moved_ ? 0 : moved_ - back;
    } else {
        const auto forward = static_cast<std::uint64_t>(bytes);
        bytes_done_ = std::min(total_bytes_, bytes_done_ + forward);
        moved_ = std::min(total_bytes_, moved_ + forward - std::min(forward, already_there));
    }
    files_done_ = std::min(total_files_, files_done_ + files);
    samples_.emplace_back(now, moved_);
    // Keep one sample older than the window, so the rate spans all of it.
    while (samples_.size() > 2 && samples_[1].first <= now - window_) samples_.pop_front();
}

ProgressTracker::Snapshot ProgressTracker::snapshot(Clock::time_point now) const {
    Snapshot s{bytes_done_, total_bytes_, files_done_, total_files_, 0, std::nullopt};
    const auto& [since, moved_then] = samples_.front();
    const double seconds = std::chrono::duration<double>(now - since).count();
    if (seconds > 0 && moved_ >= moved_then) {
        s.bytes_per_second = static_cast<double>(moved_ - moved_then) / seconds;
    }
    if (bytes_done_ >= total_bytes_) {
        s.seconds_left = 0;
    } else if (s.bytes_per_second > 0) {
        s.seconds_left = static_cast<double>(total_bytes_ - bytes_done_) / s.bytes_per_second;
    }
    return s;
}

}  // namespace chat
