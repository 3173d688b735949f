#pragma once
// Folder transfers, both directions, on the control thread.
//
// Sending: chatcli passes the manifest and the files' descriptors; we
// offer the transfer over UDP (retried until answered), and once accepted
// send the manifest over TCP, then split the files into jobs that the
// worker pool streams, each over its own TCP connection.
//
// Receiving: an offer waits for `chatcli accept` (or is accepted by
// policy); accepting checks free space, makes a staging tree and answers
// with a one-time token and our TCP port (the UDP port's number). A TCP
// connection must present that token before anything is written; the
// manifest connection is checked against the offer, and each data
// connection is handed to a worker. When every file is verified the tree
// is published, and the sender is told under which names.
//
// Both sides keep their transfers in the store, so a restart resumes
// them: the receiver keeps its staging tree, token and verified files;
// the sender, which holds no descriptors after a restart, resumes when
// the same paths are sent to the same peer again.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "config.hpp"
#include "control_server.hpp"
#include "envelope.hpp"
#include "manifest.hpp"
#include "net.hpp"
#include "staging.hpp"
#include "store.hpp"
#include "transfer_jobs.hpp"
#include "transfer_listener.hpp"
#include "transfer_state.hpp"
#include "worker_pool.hpp"

namespace spdlog {
class logger;
}

namespace chat {

struct TransferContext {
    asio::io_context& io;
    const Config& config;
    std::string our_name;
    std::string state_dir;
    WorkerPool& pool;
    std::function<void(const Endpoint& to, std::string datagram)> send_datagram;
    std::function<void(const std::string& line)> notify;  // to inbox followers
    // Runs `work` on the store thread; `then` (optional) runs on the control
    // thread after the commit, with whether it is durable.
    std::function<void(std::function<void(Store&)> work, std::function<void(bool durable)> then)>
        persist;
    std::shared_ptr<spdlog::logger> log;
};

class TransferManager {
public:
    explicit TransferManager(TransferContext context);
    ~TransferManager();

    // Listens for data connections on TCP at `listen` (the UDP address).
    void start(const Endpoint& listen);
    // Takes back what the store kept (after start). Outgoing transfers that
    // were under way wait as "interrupted" for the same paths to be sent again.
    void restore(const std::vector<TransferRow>& rows);
    void stop();

    void begin_outgoing(const TransferRequest& request, const Endpoint& to, OwnedFds fds,
                        std::shared_ptr<ReplySink> reply);
    void list(std::shared_ptr<ReplySink> reply);
    void decide(const DecideRequest& request, std::shared_ptr<ReplySink> reply);
    void on_offer(const Endpoint& from, const std::string& id, const TransferOffer& offer,
                  const std::string& name);
    void on_answer(const Endpoint& from, const std::string& id, const TransferAnswer& answer);
    void on_cancel(const Endpoint& from, const std::string& id, const std::string& reason);
    std::size_t active() const;

private:
    struct Outgoing;
    struct Incoming;

    // restore()'s halves: false for a row that is unusable; `resumable`
    // counts those that can go on.
    bool restore_outgoing(const TransferRow& row, const Endpoint& to, std::size_t& resumable);
    bool restore_incoming(const TransferRow& row, const Endpoint& from, std::size_t& resumable);

    TransferListener::Handlers listener_handlers();

    // Sending side.
    Outgoing* resumable(const std::string& peer, const Manifest& manifest);
    void send_offer(Outgoing& t);
    void send_manifest(std::uint64_t number, int attempt);
    std::chrono::milliseconds retry_later(std::uint64_t number, int attempt,
                                          std::function<void()> again);
    void start_jobs(Outgoing& t);
    void pump_jobs(Outgoing& t);
    void submit_job(std::uint64_t number, std::vector<std::size_t> entries, int attempt);
    void all_jobs_done(Outgoing& t);
    // The transfer's rate limit shared anew by its running send jobs.
    void share_rate_among_jobs(Outgoing& t);
    // An offer with no answer for a few seconds (the peer may be down):
    // the client is told, once a second while it lasts.
    void tell_unanswered(std::uint64_t number);
    void finish_outgoing(Outgoing& t, const std::string& error);
    void emit_progress(Outgoing& t, bool force);
    void save(const Outgoing& t, bool with_manifest);
    void persist_row(TransferRow row, std::function<void(bool)> then);
    // Finished transfers keep a summary, not their manifest.
    void release_manifest(Outgoing& t);

    // Receiving side.
    void accept_offer(Incoming& t, const std::string& dir, std::shared_ptr<ReplySink> reply);
    void answer(const Incoming& t);
    void receive_manifest(Incoming& t, asio::ip::tcp::socket& socket, const std::string& text);
    void receive_files(Incoming& t, asio::ip::tcp::socket& socket,
                       const std::vector<std::size_t>& files);
    void reconsider(Incoming& t);   // the offer policy: ask, or accept at once
    void publish(Incoming& t);      // stamps, then sync_staged, then place
    void sync_staged(Incoming& t);  // the syncfs, in a worker
    void place(Incoming& t);
    // A job's end for the transfer it served: ok, the result or why not, and
    // the failure's kind (decided on, never the text).
    using IncomingJobDone =
        std::function<void(Incoming&, bool ok, const std::string& result, FailureKind kind)>;
    void submit_incoming_job(Incoming& t, PoolJob job, IncomingJobDone done);
    // Ends a transfer in `state` (failed, cancelled) and removes its staging.
    void fail_incoming(Incoming& t, const std::string& why,
                       IncomingState state = IncomingState::failed);
    // The same for a failure of our own storage: `why` stays local, the
    // sender hears only that we could not store the transfer.
    void fail_storage(Incoming& t, const std::string& why);
    // Where a transfer accepted without --to goes.
    std::string default_download_dir() const;
    // `manifest_text`: the manifest as received, stored once with the row.
    void save(const Incoming& t, std::function<void(bool)> then = {},
              const std::string* manifest_text = nullptr);
    // Unanswered offers older than transfer.offer_ttl_seconds are refused.
    void expire_offers();

    // The transfer a request names by number or by its shared id's start;
    // 0 with `why` set if none or several.
    std::uint64_t named(const DecideRequest& request, std::string& why) const;
    Outgoing* outgoing_by_id(const std::string& id);
    Incoming* incoming_by_id(const std::string& id);
    std::string random_hex();
    std::optional<Endpoint> endpoint_of(const std::string& peer_key) const;
    // Keeps the newest finished transfers in memory (the store keeps more).
    void forget_old();

    TransferContext ctx_;
    TransferListener listener_;
    std::map<std::uint64_t, std::unique_ptr<Outgoing>> outgoing_;
    std::map<std::uint64_t, std::unique_ptr<Incoming>> incoming_;
    std::uint64_t next_number_ = 1;
    std::mt19937_64 random_;
    Endpoint listen_;  // our UDP socket's address, which peers we can reach
    bool stopped_ = false;
};

}  // namespace chat
