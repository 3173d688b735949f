#pragma once
// The daemon's logic, apart from main(): it owns the UDP transport, the
// store thread and the control server, keeps the outbox's retry schedule,
// and answers control requests. Everything here except on_datagram runs on
// the io_context's thread (the control thread).
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "control_server.hpp"
#include "counters.hpp"
#include "dedup_window.hpp"
#include "message_order.hpp"
#include "net.hpp"
#include "paths.hpp"
#include "service_notify.hpp"
#include "state_dir.hpp"
#include "store.hpp"
#include "store_worker.hpp"
#include "transfers.hpp"
#include "udp_transport.hpp"
#include "worker_pool.hpp"

namespace spdlog {
class logger;
}

namespace chat {

struct DaemonSettings {
    Config config;
    std::string socket_path;  // resolved
    std::string state_dir;    // resolved
    // The defaults' directories are created with their parents; a path the
    // user gave must have its parent already (main checks), and only a
    // given state directory itself is created.
    bool default_socket_path = true;
    bool default_state_dir = true;
    std::string name;               // resolved
    std::string worker_executable;  // this binary, started again as `chatd --worker`
    ServiceEnvironment service;     // systemd's notify socket and watchdog, if any
    bool test_hooks = false;        // CHATD_TEST_HOOKS=1: honour `stall` requests
    // Reads the config again for a reload (SIGHUP); throws ConfigError.
    std::function<Config()> load_config;
};

class Daemon : public RequestHandler {
public:
    Daemon(asio::io_context& io, DaemonSettings settings, std::shared_ptr<spdlog::logger> log);
    ~Daemon();

    // Opens the store, binds the sockets, starts the threads. Throws on
    // failure, with nothing left running.
    void start();
    // Stops the threads and closes everything; the socket file is removed.
    void stop();

    std::string listen_address() const;
    void handle(Request request, std::shared_ptr<ReplySink> reply) override;
    // Re-reads the config and applies what can change while running (log
    // level, peers, retry timing, transfer policy); a bad config is refused
    // and the running one stays.
    void reload();

private:
    // start() after the directories and the lock.
    void start_services();

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
    struct Follower {
        std::shared_ptr<ReplySink> reply;
        std::string peer;  // empty: all
        std::int64_t last_id = 0;
    };
    // A send request (one text, or a batch of `texts` to one peer) on its
    // way through the store to the wire. Envelope messages leave while
    // their outbox rows commit; the reply waits for both the commit and,
    // with `wait`, every ack.
    struct OutgoingSend {
        std::vector<OutgoingMessage> messages;
        std::vector<std::int64_t> rows;  // set by the store thread before `done`
        Endpoint to;
        std::vector<std::string> datagrams;  // as first sent (plain: once stored)
        bool batch = false;                  // reply with every id
        bool wait = false;
        double timeout_seconds = 0;
        std::shared_ptr<ReplySink> reply;
        // Control thread only.
        bool stored = false;
        bool answered = false;
        std::size_t unacked = 0;
        std::shared_ptr<asio::steady_timer> timer;
    };
    struct PeerMode {
        bool envelope = false;
        bool plain = false;
    };
    using Resolved = std::function<void(const std::string& error, const Endpoint& endpoint)>;

    // Receiver thread. What the datagrams that arrived together carry, by
    // sender, is handed on once at the batch's end: one store operation per
    // sender, one pass over its acks.
    struct Arrived {
        Endpoint from;
        std::string peer;
        std::vector<IncomingMessage> messages;
        std::vector<std::string> acked;
    };
    void on_datagram(std::string_view bytes, const Endpoint& from, bool truncated);
    void on_received_batch();
    void store_incoming(std::vector<IncomingMessage> messages, const Endpoint& from);

    // Store thread: shows or holds an ordered message, given the seqs its
    // arrival made due (MessageOrder::arrive), adding what became visible to
    // `shown` (its text moves there); true if it was new. The caller saves
    // the stream's next seq.
    bool place_in_order(Store& store, IncomingMessage& message,
                        const std::vector<std::uint64_t>& seqs, std::vector<MessageView>& shown);
    // Store thread: shows what has waited for a gap longer than the sender
    // could still be retrying it.
    void release_overdue(Store& store, std::int64_t cutoff_ms, std::vector<MessageView>& shown);
    // Store thread: the order key of a sender's stream, its state loaded
    // from the store if the tracker does not have it.
    std::string known_stream(Store& store, const std::string& peer, const std::string& stream);

    // Control thread.
    void on_stored(const MessageView& message);
    void on_acks(const std::string& peer, const std::vector<std::string>& msg_ids);
    void note_envelope_peer(const std::string& peer);
    // Queues one store operation marking these outbox rows delivered.
    void mark_delivered(std::vector<std::int64_t> rows, std::int64_t acked_at);
    // Our envelope for a pending message, with the current floor.
    std::string envelope_of(const std::string& msg_id, const Pending& pending);
    // Sends envelopes to one peer in as few datagrams as they fit in.
    void send_bundled(const Endpoint& to, const std::vector<std::string>& envelopes);
    void prune_followers();
    void arm_retry_timer();
    void on_retry_tick();
    void forget_pending(const Pending& pending);
    void arm_hold_timer();
    void on_hold_tick();
    std::chrono::milliseconds hold_limit() const;
    void resolve_peer(const std::string& spec, Resolved done);
    // As resolve_peer, but a bad peer is answered (bad_peer) here.
    void resolve_or_reject(const std::string& spec, std::shared_ptr<ReplySink> reply,
                           std::function<void(const Endpoint&)> resolved);
    // As resolve_or_reject, for a destination: also refuses what is not a
    // single host (unspecified, broadcast, multicast).
    void resolve_destination(const std::string& spec, std::shared_ptr<ReplySink> reply,
                             std::function<void(const Endpoint&)> resolved);
    // An optional peer filter as its key ("" for none).
    void with_peer_key(const std::string& spec, std::shared_ptr<ReplySink> reply,
                       std::function<void(const std::string& key)> respond);
    void handle_send(SendRequest request, std::shared_ptr<ReplySink> reply);
    // `texts` holds the messages; `batch`: the request gave them as `texts`.
    void send_resolved(SendRequest request, bool batch, const Endpoint& to,
                       std::shared_ptr<ReplySink> reply);
    void queue_outgoing(std::shared_ptr<OutgoingSend> send);
    void on_outgoing_stored(std::shared_ptr<OutgoingSend> send, bool durable);
    void wait_for_acks(std::shared_ptr<OutgoingSend> send);
    // The one reply a send gets; later calls do nothing.
    void settle(OutgoingSend& send, const std::string& line);
    std::string settled_line(const OutgoingSend& send, const char* state) const;
    // A waiting send's message will never be acked (it expired).
    void fail_waiter(const std::string& msg_id, const std::string& line);
    using StreamDone = std::function<void(std::int64_t last_id)>;
    // Sends matching messages after after_id, a page at a time, each page
    // once the client has taken the previous one; `done` runs after an
    // empty page or `remaining` messages.
    void stream_messages(std::shared_ptr<ReplySink> reply, MessageFilter filter,
                         std::int64_t after_id, std::size_t remaining, StreamDone done);
    void handle_inbox(InboxRequest request, std::shared_ptr<ReplySink> reply);
    void handle_history(HistoryRequest request, std::shared_ptr<ReplySink> reply);
    void handle_status(std::shared_ptr<ReplySink> reply);
    void handle_peers(std::shared_ptr<ReplySink> reply);
    void handle_transfer(TransferRequest request, std::shared_ptr<ReplySink> reply);
    void handle_stall(const StallRequest& request, std::shared_ptr<ReplySink> reply);
    // systemd: STATUS= when it changes, and WATCHDOG=1 only while the
    // receiver, sender, store and control loops all answer their probes.
    void arm_service_timer();
    void on_service_tick();
    std::string status_line() const;
    void notify_followers(const std::string& line, const std::string& peer);
    nlohmann::json workers_json() const;
    std::string new_message_id();
    void post(std::function<void()> fn);
    // A transfer's state change, through the store thread.
    void persist(std::function<void(Store&)> work, std::function<void(bool)> then);

    asio::io_context& io_;
    DaemonSettings settings_;
    std::shared_ptr<spdlog::logger> log_;
    Counters counters_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

    std::unique_ptr<StateDirLock> state_lock_;  // held until the daemon is destroyed
    std::unique_ptr<Store> reader_;             // control thread's read connection
    std::unique_ptr<UdpTransport> transport_;
    std::unique_ptr<StoreWorker> store_worker_;  // stopped before the transport is destroyed
    std::unique_ptr<WorkerPool> workers_;
    std::unique_ptr<TransferManager> transfers_;
    ControlServer control_;
    asio::ip::udp::resolver resolver_;
    asio::steady_timer retry_timer_;
    bool retry_timer_armed_ = false;
    bool running_ = false;

    ServiceNotifier notifier_;
    asio::steady_timer service_timer_;
    std::string last_status_;
    bool probes_out_ = false;  // probes sent at the last tick, to be answered by the next
    std::uint64_t probes_seen_ = 0;
    std::atomic<std::uint64_t> store_beats_{0};  // bumped by the store thread
    std::uint64_t store_beats_seen_ = 0;
    bool watchdog_withheld_ = false;

    // Acks that came before their outbox row was committed: message id to
    // when (control thread; emptied as the rows arrive or fail).
    std::unordered_map<std::string, std::int64_t> acked_early_;
    std::vector<Arrived> arrived_;      // receiver thread only, see on_received_batch
    DedupWindow committed_ids_{65536};  // store thread only: "peer id" keys durably stored
    MessageOrder order_;                // store thread only: each sender's next message to show
    asio::steady_timer hold_timer_;
    // Our stream of sent messages: its name, the last seq given to each
    // peer, and the seqs still unacked per peer (the lowest is the floor).
    std::string stream_id_;
    std::unordered_map<std::string, std::uint64_t> last_seq_;
    std::unordered_map<std::string, std::set<std::uint64_t>> unacked_;
    // When each peer last acked: the first ack after a silence brings its
    // other messages' retries forward (the link is back).
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_ack_;
    std::unordered_map<std::string, Pending> pending_;
    // Message id → the send waiting for its ack (or for its commit).
    std::unordered_map<std::string, std::shared_ptr<OutgoingSend>> waiters_;
    std::vector<Follower> followers_;
    std::unordered_map<std::string, PeerMode> peer_modes_;
    std::mt19937_64 random_;
};

}  // namespace chat
