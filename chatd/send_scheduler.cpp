#include "send_scheduler.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <iterator>

#include "address.hpp"
#include "retry.hpp"
#include "worker_jobs.hpp"

namespace chat {
namespace {

using Clock = TransferClock;

constexpr std::size_t kMaxFilesPerJob = 250;  // descriptors in one worker message

}  // namespace

SendScheduler::SendScheduler(TransferContext& ctx, TransferRegistry& registry, Hooks hooks)
    : ctx_(ctx), registry_(registry), hooks_(std::move(hooks)) {}

std::chrono::milliseconds SendScheduler::retry_later(std::uint64_t number, int attempt,
                                                     std::function<void()> again) {
    // 0.5 s doubling; kJobAttempts keeps it under the cap.
    const auto delay = retry_delay(static_cast<unsigned>(attempt), std::chrono::milliseconds(500),
                                   std::chrono::milliseconds(500) * (1 << (kJobAttempts - 1)));
    auto timer = std::make_shared<asio::steady_timer>(ctx_.io, delay);
    timer->async_wait([this, number, timer, again = std::move(again)](asio::error_code ec) {
        if (!ec && registry_.outgoing.count(number) &&
            registry_.outgoing.at(number)->state == OutgoingState::sending)
            again();
    });
    return delay;
}

void SendScheduler::start(OutgoingTransfer& t) {
    std::vector<std::uint64_t> sizes;
    for (const std::size_t entry : t.file_entries) sizes.push_back(t.manifest.entries[entry].size);
    if (sizes.empty()) return hooks_.on_all_done(t);
    t.tracker = std::make_unique<ProgressTracker>(t.manifest.total_bytes(), t.manifest.file_count(),
                                                  Clock::now());
    t.jobs_left = 0;
    const auto jobs = split_jobs(sizes, ctx_.config.transfer.workers);
    std::vector<std::vector<std::size_t>> batches;
    for (const auto& job : jobs) {
        for (std::size_t start = 0; start < job.files.size(); start += kMaxFilesPerJob) {
            const std::size_t end = std::min(job.files.size(), start + kMaxFilesPerJob);
            batches.emplace_back(job.files.begin() + static_cast<std::ptrdiff_t>(start),
                                 job.files.begin() + static_cast<std::ptrdiff_t>(end));
        }
    }
    t.jobs_left = batches.size();
    t.waiting_batches.assign(std::make_move_iterator(batches.begin()),
                             std::make_move_iterator(batches.end()));
    pump(t);
}

void SendScheduler::pump(OutgoingTransfer& t) {
    const std::size_t window = std::max<std::size_t>(1, ctx_.pool.pids().size());
    while (t.jobs.size() < window && !t.waiting_batches.empty()) {
        auto slots = std::move(t.waiting_batches.front());
        t.waiting_batches.pop_front();
        submit(t.number, std::move(slots), 1);
    }
}

void SendScheduler::submit(std::uint64_t number, std::vector<std::size_t> slots, int attempt) {
    OutgoingTransfer& t = *registry_.outgoing.at(number);
    SendJobParams params;
    for (const std::size_t slot : slots) {
        const std::size_t index = t.file_entries[slot];
        const ManifestEntry& e = t.manifest.entries[index];
        params.files.push_back({index, e.path, e.size, std::nullopt});
    }
    params.host = parse_host_port(t.peer).host;
    params.port = t.port;
    params.transfer = t.id;
    params.token = t.token;
    // The transfer's rate limit is shared by the send jobs that can run at once.
    const std::uint64_t parallel =
        std::max<std::uint64_t>(1, std::min<std::uint64_t>(t.jobs_left, ctx_.pool.send_slots()));
    // The smallest share: never 0 (no limit) for a limit below the job count.
    params.max_rate = share_rate(ctx_.config.transfer.max_rate, parallel).back();
    PoolJob job;
    job.kind = to_string(JobKind::send);
    job.params_json = encode_send_job(params);
    job.shared_fds = t.fds;
    job.shared_slots = slots;
    job.on_progress = [this, number](const WorkerReport& report) {
        auto it = registry_.outgoing.find(number);
        if (it == registry_.outgoing.end()) return;
        OutgoingTransfer& t = *it->second;
        hooks_.on_progress(t, report);
    };
    job.on_start = [this, number](std::uint64_t id) {
        auto it = registry_.outgoing.find(number);
        if (it == registry_.outgoing.end() || it->second->state != OutgoingState::sending) return;
        it->second->send_rates[id] = 0;
        share_rate_among_jobs(*it->second);
    };
    auto job_id = std::make_shared<std::uint64_t>(0);
    job.on_done = [this, number, slots, attempt, job_id](bool ok, const std::string& result,
                                                         FailureKind kind) {
        auto it = registry_.outgoing.find(number);
        if (it == registry_.outgoing.end()) return;
        OutgoingTransfer& t = *it->second;
        t.jobs.erase(*job_id);
        if (t.send_rates.erase(*job_id) != 0) share_rate_among_jobs(t);
        if (t.state != OutgoingState::sending) return;
        if (ok) {
            t.wire_bytes += decode_send_result(result).wire_bytes;
            if (--t.jobs_left == 0) return hooks_.on_all_done(t);
            return pump(t);
        }
        // The receiver's own storage failing is final; anything else resumes.
        if (attempt >= kJobAttempts || kind == FailureKind::peer) {
            cancel_jobs(ctx_.pool, t.jobs);
            return hooks_.on_failed(t, result);
        }
        const auto delay = retry_later(number, attempt, [this, number, slots, attempt] {
            submit(number, slots, attempt + 1);
        });
        ctx_.log->warn("transfer {}: a job failed ({}); resuming it in {} ms", number, result,
                       delay.count());
    };
    *job_id = ctx_.pool.submit(std::move(job));
    t.jobs.insert(*job_id);
}

// The limit is the transfer's: a job that ends gives its share to the
// jobs still running, and one that starts takes its part.
void SendScheduler::share_rate_among_jobs(OutgoingTransfer& t) {
    const auto shares = share_rate(ctx_.config.transfer.max_rate, t.send_rates.size());
    std::size_t i = 0;
    for (auto& [job, rate] : t.send_rates) {
        const std::uint64_t share = shares[i++];
        if (share == rate) continue;
        if (ctx_.pool.set_rate(job, share)) rate = share;
        ctx_.log->debug("transfer {}: send job {} now at {} B/s ({} running)", t.number, job, share,
                        t.send_rates.size());
    }
}

}  // namespace chat
