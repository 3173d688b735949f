#pragma once
// The outbox: our messages from a `send` request to their ack. It numbers
// them in our stream to each peer, keeps each unacked one pending and
// resends it on the retry schedule (common/retry.hpp) until acked or
// expired, marks rows delivered through the store, and answers each send
// once (stored, or with `wait`, acked; or failed, expired, timed out).
// Envelopes go sealed: only to a peer with a session (the Handshaker is
// asked for one; meanwhile they stay pending, nothing durable changes) and
// never to a peer PeerKeys holds (its key changed or is not trusted).
// Plain-only peers get plain text in clear, as before.
// Control thread only (the io_context's thread); its store work runs on
// the store thread but touches none of this.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "control_protocol.hpp"
#include "control_server.hpp"
#include "counters.hpp"
#include "net.hpp"
#include "retry.hpp"
#include "store.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class Handshaker;
class PeerDirectory;
class PeerKeys;
class StoreWorker;
class UdpTransport;

// How a settled send is reported, and an outbox row's state as stored.
enum class SendState { queued, delivered, sent };
const char* to_string(SendState state);

// Message i of a send request of `count`, as an error names it.
std::string message_label(std::size_t i, std::size_t count);

class Outbox {
public:
    // `config` and `name` are the running ones (a reload changes the retry
    // timing and the TTL in place).
    Outbox(asio::io_context& io, const Config& config, const std::string& name, Counters& counters,
           PeerDirectory& peers, PeerKeys& keys, Handshaker& handshaker,
           std::shared_ptr<spdlog::logger> log);
    ~Outbox();

    // Loads our stream and the rows still unacked at the last stop; a row
    // this socket cannot reach stays queued.
    void restore(Store& reader, const UdpTransport& transport, const std::string& listen_address);
    // Starts resending; before it, nothing is sent.
    void start(UdpTransport& transport, StoreWorker& store);
    // Drops every waiting reply unanswered and stops the timers.
    void stop();

    // Sends a request's `texts` (`batch`: it gave them as `texts`) to a
    // resolved peer; the reply comes once they are stored (and acked).
    void send(SendRequest request, bool batch, const Endpoint& to,
              std::shared_ptr<ReplySink> reply);
    // Acks that came from `peer`, in one batch.
    void on_acks(const std::string& peer, const std::vector<std::string>& msg_ids);

    // A session with `peer` is up, or its pin changed: what waits for it goes now.
    void on_session_up(const std::string& peer);

    std::size_t pending() const { return pending_.size(); }

private:
    struct Pending {
        std::int64_t row = 0;
        std::string peer;
        Endpoint to;
        std::string text;
        std::uint64_t seq = 0;  // in our stream to this peer
        unsigned attempts = 0;
        std::chrono::steady_clock::time_point next_due;
        std::int64_t expires_ms = 0;
    };
    struct OutgoingSend;
    // A request's message i as it goes out first, or a refusal (too large).
    struct Built {
        std::string datagram;
        std::string error;
    };
    Built build(const OutgoingSend& send, std::size_t i, std::uint64_t floor) const;

    RetrySchedule schedule() const;
    std::string new_message_id();
    void queue(std::shared_ptr<OutgoingSend> send);
    void on_stored(std::shared_ptr<OutgoingSend> send, bool durable);
    void drop_unstored(const OutgoingSend& send);
    void wait_for_acks(std::shared_ptr<OutgoingSend> send);
    // The one reply a send gets; later calls do nothing.
    void settle(OutgoingSend& send, const std::string& line);
    // A waiting send's message will never be acked (it expired).
    void fail_waiter(const std::string& msg_id, const std::string& line);
    void ack_waiter(const std::string& msg_id);
    // The first ack after a silence: the link is back, so the peer's other
    // messages need not wait out their backoff.
    void on_link_heard(const std::string& peer);
    // Queues one store operation marking these outbox rows delivered.
    void mark_delivered(std::vector<std::int64_t> rows, std::int64_t acked_at);
    void arm_retry_timer();
    void on_retry_tick();
    // Drops expired messages; the ones due now, each peer's by seq.
    std::vector<std::pair<const std::string, Pending>*> expire_and_collect_due();
    void forget(const Pending& pending);
    // Our envelope for a pending message, with the current floor.
    std::string envelope_of(const std::string& msg_id, const Pending& pending);
    // Envelopes may be sealed for this peer now (else a session is asked for).
    bool can_seal(const Endpoint& to, const std::string& peer);
    // Sends envelopes to one peer in as few datagrams as they fit in.
    void send_bundled(const Endpoint& to, const std::vector<std::string>& envelopes);

    asio::io_context& io_;
    const Config& config_;
    const std::string& name_;
    Counters& counters_;
    PeerDirectory& peers_;
    PeerKeys& keys_;
    Handshaker& handshaker_;
    std::shared_ptr<spdlog::logger> log_;
    UdpTransport* transport_ = nullptr;
    StoreWorker* store_ = nullptr;
    bool running_ = false;
    asio::steady_timer retry_timer_;
    bool retry_timer_armed_ = false;
    std::mt19937_64 random_;

    // Our stream of sent messages: its name, the last seq given to each
    // peer, and the seqs still unacked per peer (the lowest is the floor).
    std::string stream_id_;
    std::unordered_map<std::string, std::uint64_t> last_seq_;
    std::unordered_map<std::string, std::set<std::uint64_t>> unacked_;
    // When each peer last acked (see on_link_heard).
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_ack_;
    std::unordered_map<std::string, Pending> pending_;
    // Acks that came before their outbox row was committed: message id to
    // when (emptied as the rows arrive or fail).
    std::unordered_map<std::string, std::int64_t> acked_early_;
    // Message id → the send waiting for its ack (or for its commit).
    std::unordered_map<std::string, std::shared_ptr<OutgoingSend>> waiters_;
};

}  // namespace chat
