#pragma once
// The receiving side of transfers: an offer waits for a decision (or is
// decided by the offer policy); accepting checks free space, makes a
// staging tree and answers with a one-time token and our TCP port. The
// listener lets through only connections with that token: the manifest,
// checked against the offer, then data connections, each served by a
// worker. When every file is verified the tree is synced (in a worker),
// published, and the sender told under which names. Control thread only.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "transfer_context.hpp"
#include "transfer_listener.hpp"
#include "transfer_registry.hpp"

namespace chat {

class Receiver {
public:
    Receiver(TransferContext& ctx, TransferRegistry& registry, std::mt19937_64& random);

    // Listens for data connections on TCP at `listen` (the UDP address).
    void start(const Endpoint& listen);
    void stop();

    void on_offer(const Endpoint& from, const std::string& id, const TransferOffer& offer,
                  const std::string& name);
    void on_cancel(const Endpoint& from, const std::string& id, const std::string& reason);
    // The decisions of chatcli accept, reject and cancel; each answers the
    // sender. accept_offer replies to `reply` itself (null: by policy).
    void accept_offer(IncomingTransfer& t, const std::string& dir,
                      std::shared_ptr<ReplySink> reply);
    void reject(IncomingTransfer& t);
    void cancel(IncomingTransfer& t);
    // Unanswered offers older than transfer.offer_ttl_seconds are refused.
    void expire_offers();
    // A stored row back; false if it is unusable. `resumable` counts those
    // that can go on (their staging tree taken back).
    bool restore(const TransferRow& row, const Endpoint& from, std::size_t& resumable);

private:
    // Why accept_offer refuses: the code and text for the person who
    // asked, and what the sender hears (none of our paths).
    struct Refusal {
        const char* code;
        std::string why;
        std::string for_peer;
    };
    // A job's end for the transfer it served: ok, the result or why not, and
    // the failure's kind (decided on, never the text).
    using IncomingJobDone = std::function<void(IncomingTransfer&, bool ok,
                                               const std::string& result, FailureKind kind)>;

    TransferListener::Handlers listener_handlers();
    std::optional<Refusal> open_target(const IncomingTransfer& t, const ReplySink* reply,
                                       std::string& dir, UniqueFd& fd);
    void answer(const IncomingTransfer& t);
    void reconsider(IncomingTransfer& t);  // the offer policy: ask, or accept at once
    void receive_manifest(IncomingTransfer& t, asio::ip::tcp::socket& socket,
                          const std::string& text);
    void receive_files(IncomingTransfer& t, asio::ip::tcp::socket& socket,
                       const std::vector<std::size_t>& files);
    void publish(IncomingTransfer& t);      // stamps, then sync_staged, then place
    void sync_staged(IncomingTransfer& t);  // the syncfs, in a worker
    void place(IncomingTransfer& t);
    void submit_incoming_job(IncomingTransfer& t, PoolJob job, IncomingJobDone done);
    // Ends a transfer in `state` (failed, cancelled) and removes its staging.
    void fail_incoming(IncomingTransfer& t, const std::string& why,
                       IncomingState state = IncomingState::failed);
    // The same for a failure of our own storage: `why` stays local, the
    // sender hears only that we could not store the transfer.
    void fail_storage(IncomingTransfer& t, const std::string& why);
    // Where a transfer accepted without --to goes.
    std::string default_download_dir() const;
    // `manifest_text`: the manifest as received, stored once with the row.
    void save(const IncomingTransfer& t, std::function<void(bool)> then = {},
              const std::string* manifest_text = nullptr);

    TransferContext& ctx_;
    TransferRegistry& registry_;
    std::mt19937_64& random_;
    TransferListener listener_;
    bool stopped_ = false;
};

}  // namespace chat
