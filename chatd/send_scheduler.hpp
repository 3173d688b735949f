#pragma once
// The sending side's jobs: an accepted transfer's files split into worker
// jobs (of at most 250 descriptors), as many queued at once as there are
// workers, the transfer's rate limit shared among those running, and a
// failed job resumed with backoff. Control thread only (the pool's
// callbacks and the timers run there).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "transfer_context.hpp"
#include "transfer_registry.hpp"

namespace chat {

class SendScheduler {
public:
    // A failed job resumes with backoff (0.5 s doubling), about 15 s in all:
    // long enough for the receiving daemon to restart. A lost manifest too.
    static constexpr int kJobAttempts = 6;

    struct Hooks {
        std::function<void(OutgoingTransfer&, const WorkerReport&)> on_progress;
        std::function<void(OutgoingTransfer&)> on_all_done;
        // A job failed for good (the peer refused, or out of attempts).
        std::function<void(OutgoingTransfer&, const std::string& why)> on_failed;
    };

    SendScheduler(TransferContext& ctx, TransferRegistry& registry, Hooks hooks);

    // Runs the transfer's files (again, from the start: the receiver skips
    // what it has).
    void start(OutgoingTransfer& t);
    // The backoff shared by failed jobs and a lost manifest: 0.5 s doubling.
    // `again` runs only if the transfer is still sending by then.
    std::chrono::milliseconds retry_later(std::uint64_t number, int attempt,
                                          std::function<void()> again);

private:
    void pump(OutgoingTransfer& t);
    // `slots` index the descriptors (and t.file_entries).
    void submit(std::uint64_t number, std::vector<std::size_t> slots, int attempt);
    // The transfer's rate limit shared anew by its running send jobs.
    void share_rate_among_jobs(OutgoingTransfer& t);

    TransferContext& ctx_;
    TransferRegistry& registry_;
    Hooks hooks_;
};

}  // namespace chat
