#pragma once
// The sending side of transfers: the offer (retried until answered), the
// answers, the manifest's upload over TCP, then the jobs (SendScheduler)
// until the receiver confirms it has published; the client hears each
// step on its reply. A restart leaves unfinished ones "interrupted", to
// resume when the same paths are sent to the same peer again. Control
// thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "send_scheduler.hpp"
#include "transfer_context.hpp"
#include "transfer_registry.hpp"

namespace chat {

// An offer without any answer this long: the client hears the peer may be down.
inline constexpr auto kUnansweredAfter = std::chrono::seconds(3);

class Sender {
public:
    Sender(TransferContext& ctx, TransferRegistry& registry, std::mt19937_64& random);

    void begin(const TransferRequest& request, const Endpoint& to, OwnedFds fds,
               std::shared_ptr<ReplySink> reply);
    void on_answer(const Endpoint& from, const std::string& id, const TransferAnswer& answer);
    // Cancelled here (chatcli cancel); the receiver is told.
    void cancel(OutgoingTransfer& t);
    // A stored row back; false if it is unusable. `resumable` counts those
    // that can go on.
    bool restore(const TransferRow& row, const Endpoint& to, std::size_t& resumable);
    void stop();

private:
    OutgoingTransfer* resumable(const std::string& peer, const Manifest& manifest);
    void send_offer(OutgoingTransfer& t);
    // The answer while the jobs run or after they are done.
    void on_answer_while_sending(OutgoingTransfer& t, AnswerState verdict,
                                 const TransferAnswer& answer);
    void send_manifest(std::uint64_t number, int attempt);
    void all_jobs_done(OutgoingTransfer& t);
    void on_job_progress(OutgoingTransfer& t, const WorkerReport& report);
    // An offer with no answer for a few seconds (the peer may be down):
    // the client is told, once a second while it lasts.
    void tell_unanswered(std::uint64_t number);
    void finish_outgoing(OutgoingTransfer& t, const std::string& error);
    void emit_progress(OutgoingTransfer& t, bool force);
    void save(const OutgoingTransfer& t, bool with_manifest);
    // Finished transfers keep a summary, not their manifest.
    void release_manifest(OutgoingTransfer& t);

    TransferContext& ctx_;
    TransferRegistry& registry_;
    std::mt19937_64& random_;
    SendScheduler scheduler_;
    bool stopped_ = false;
};

}  // namespace chat
