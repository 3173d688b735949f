#include "daemon.hpp"

#include <netdb.h>
#include <spdlog/logger.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "address.hpp"
#include "config_reload.hpp"
#include "heap.hpp"
#include "inbound.hpp"
#include "intake.hpp"
#include "session_table.hpp"
#include "store_worker.hpp"
#include "transfers.hpp"
#include "udp_transport.hpp"
#include "worker_pool.hpp"

namespace chat {
namespace {

using nlohmann::json;

constexpr std::size_t kFinishedTransfersKept = 1000;  // in the store; `transfers` shows 100

// The listen address as an endpoint; a host name is looked up once, at start.
Endpoint listen_endpoint(const std::string& listen) {
    const HostPort hp = parse_host_port(listen, /*allow_port_zero=*/true);
    if (auto numeric = numeric_endpoint(hp.host, hp.port)) return *numeric;
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(hp.port);
    if (const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        throw std::runtime_error("cannot resolve listen host '" + hp.host +
                                 "': " + gai_strerror(rc));
    }
    Endpoint e;
    std::memcpy(&e.storage, found->ai_addr, found->ai_addrlen);
    e.length = found->ai_addrlen;
    ::freeaddrinfo(found);
    return e;
}

json counters_json(const Counters& c) {
    const auto load = [](const std::atomic<std::uint64_t>& n) {
        return n.load(std::memory_order_relaxed);
    };
    return {{"received", load(c.received)},
            {"sent", load(c.sent)},
            {"acked", load(c.acked)},
            {"retried", load(c.retried)},
            {"duplicates", load(c.duplicates)},
            {"dropped_malformed", load(c.dropped_malformed)},
            {"dropped_oversize", load(c.dropped_oversize)},
            {"unknown_acks", load(c.unknown_acks)},
            {"expired", load(c.expired)},
            {"send_errors", load(c.send_errors)},
            {"store_errors", load(c.store_errors)},
            {"store_commits", load(c.store_commits)},
            {"handshakes_completed", load(c.handshakes_completed)},
            {"cookies_sent", load(c.cookies_sent)},
            {"refused_unsealed", load(c.refused_unsealed)},
            {"refused_downgrade", load(c.refused_downgrade)},
            {"refused_plain", load(c.refused_plain)},
            {"refused_key", load(c.refused_key)},
            {"replayed", load(c.replayed)},
            {"bad_mac", load(c.bad_mac)},
            {"unknown_session", load(c.unknown_session)},
            {"expired_session", load(c.expired_session)},
            {"sealed_send_dropped", load(c.sealed_send_dropped)}};
}

// The loops a `stall` request may name, and the one place its loop name
// (checked by parse_request) becomes one; anything else is the control loop.
enum class Loop { receiver, sender, store, control };
Loop loop_named(const std::string& name) {
    if (name == "receiver") return Loop::receiver;
    if (name == "sender") return Loop::sender;
    if (name == "store") return Loop::store;
    return Loop::control;
}

}  // namespace

Daemon::Daemon(asio::io_context& io, DaemonSettings settings, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      settings_(std::move(settings)),
      log_(std::move(log)),
      peers_(io, settings_.config),
      peer_keys_(settings_.config.security.accept_new_peers, settings_.config.security.plain_peers,
                 log_),
      seal_timers_(seal_timers(settings_.test_hooks)),
      handshaker_(io, peer_keys_, log_),
      outbox_(io, settings_.config, settings_.name, counters_, peers_, peer_keys_, handshaker_,
              log_),
      messages_(peers_, outbox_, followers_, peer_keys_),
      trust_(peers_, peer_keys_),
      hold_scan_(io, settings_.config),
      watchdog_(io, settings_.service, log_),
      control_(io, settings_.socket_path, settings_.config.socket_group, router_, log_) {
    route_requests();
}

Daemon::~Daemon() { stop(); }

void Daemon::route_requests() {
    using Reply = RequestRouter::Reply;
    router_.on<SendRequest>(
        [this](SendRequest r, Reply reply) { messages_.send(std::move(r), reply); });
    router_.on<InboxRequest>(
        [this](InboxRequest r, Reply reply) { messages_.inbox(std::move(r), reply); });
    router_.on<HistoryRequest>(
        [this](HistoryRequest r, Reply reply) { messages_.history(std::move(r), reply); });
    router_.on<StatusRequest>([this](StatusRequest, Reply reply) { handle_status(reply); });
    router_.on<PeersRequest>([this](PeersRequest, Reply reply) { handle_peers(reply); });
    router_.on<IdRequest>([this](IdRequest, Reply reply) { handle_id(reply); });
    router_.on<TransferRequest>(
        [this](TransferRequest r, Reply reply) { handle_transfer(std::move(r), reply); });
    router_.on<TransfersRequest>(
        [this](TransfersRequest, Reply reply) { transfers_->list(reply); });
    router_.on<DecideRequest>(
        [this](DecideRequest r, Reply reply) { transfers_->decide(r, reply); });
    router_.on<StallRequest>([this](StallRequest r, Reply reply) { handle_stall(r, reply); });
    router_.on<VerifyRequest>(
        [this](VerifyRequest r, Reply reply) { trust_.verify(std::move(r), reply); });
    router_.on<TrustRequest>(
        [this](TrustRequest r, Reply reply) { trust_.trust(std::move(r), reply); });
}

void Daemon::post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

void Daemon::persist(std::function<void(Store&)> work, std::function<void(bool)> then) {
    StoreOp op;
    op.work = std::move(work);
    op.done = [this, then = std::move(then)](bool durable) {
        if (!durable) log_->error("a transfer's state could not be stored");
        if (then)
            post([this, then, durable] {
                if (running_) then(durable);
            });
    };
    store_worker_->submit(std::move(op));
}

void Daemon::on_shown(std::vector<MessageView> shown) {
    post([this, shown = std::move(shown)] {
        for (const auto& view : shown) {
            peers_.note_message(view.peer, view.plain);
            log_->debug("message {} from {}", view.id, view.peer);
            followers_.deliver(view);
        }
    });
}

void Daemon::start() {
    CreatedDirectories created;
    try {
        created.create(settings_.state_dir, settings_.default_state_dir);
        state_lock_ = std::make_unique<StateDirLock>(settings_.state_dir);
        identity_ = std::make_unique<Identity>(settings_.state_dir);
        if (settings_.default_socket_path) {
            const auto dir = std::filesystem::path(settings_.socket_path).parent_path();
            if (!dir.empty()) created.create(dir.string(), true);
        }
        start_services();
    } catch (...) {
        // Without the lock the state dir may be another daemon's by now,
        // though this start created it: it stays.
        const bool locked = state_lock_ != nullptr;
        stop();
        reader_.reset();
        state_lock_.reset();
        if (locked) {
            created.remove({"chatd.lock", "chatd.db", "chatd.db-wal", "chatd.db-shm",
                            "chatd.db-journal", kIdentityFileName});
        }
        throw;
    }
}

void Daemon::start_services() {
    namespace fs = std::filesystem;
    const std::string db_path = (fs::path(settings_.state_dir) / "chatd.db").string();
    make_store_files_private(db_path);
    if (settings_.config.transfer.download_dir.empty())
        make_default_download_dir_private(settings_.state_dir);
    auto writer = std::make_unique<Store>(db_path);
    reader_ = std::make_unique<Store>(db_path);
    bind_sockets(listen_endpoint(settings_.config.listen));

    peers_.load(reader_->peers());
    peer_keys_.load(reader_->peer_keys());
    outbox_.restore(*reader_, *transport_, listen_address());
    store_worker_ = std::make_unique<StoreWorker>(std::move(writer), counters_, log_);
    reader_->prune_transfers(kFinishedTransfersKept);
    transfers_->restore(reader_->transfers());
    inbound_ = std::make_unique<Inbound>(
        *store_worker_, *transport_, counters_,
        [this](std::vector<MessageView> shown) { on_shown(std::move(shown)); }, log_);
    sessions_ = std::make_unique<SessionTable>(
        identity_->key_pair(), peer_keys_, seal_timers_, counters_, *transport_,
        [this](KeyEvent event) {
            post([this, event = std::move(event)] {
                if (running_) handshaker_.on_key_event(event);
            });
        },
        [this](const Endpoint& from, const std::string& peer) {
            post([this, from, peer] {
                if (running_) handshaker_.on_session_lost(from, peer);
            });
        },
        log_);
    intake_ =
        std::make_unique<Intake>(io_, settings_.config.max_datagram_bytes, counters_, *inbound_,
                                 outbox_, peers_, *transfers_, *sessions_, peer_keys_, log_);
    handshaker_.start(identity_->key_pair(), seal_timers_, *transport_, *sessions_,
                      [this](const std::string& peer) { outbox_.on_session_up(peer); });
    // A pin that changed (trust, verify, a key released): the held messages
    // are due now, over a session that proves the pinned key.
    peer_keys_.on_pin_changed([this](const std::string& peer) {
        handshaker_.on_pin_changed(peer);
        outbox_.on_session_up(peer);
    });
    transport_->start([this](std::string_view bytes, const Endpoint& from,
                             bool truncated) { intake_->on_datagram(bytes, from, truncated); },
                      [this] { intake_->on_batch_end(); });
    running_ = true;
    peers_.start(*transport_, *store_worker_);
    messages_.start(*reader_);
    peer_keys_.start(*store_worker_, [this](std::function<void()> fn) {
        post([this, fn = std::move(fn)] {
            if (running_) fn();
        });
    });
    trust_.start(*identity_);
    outbox_.start(*transport_, *store_worker_);
    hold_scan_.start(*inbound_);
    watchdog_.start(*transport_, *store_worker_, [this] { return status_line(); });
    log_->info("chatd {} as '{}': UDP {}, control socket {}, state {}, {} queued in the outbox",
               CHAT_VERSION, settings_.name, listen_address(), settings_.socket_path,
               settings_.state_dir, outbox_.pending());
}

void Daemon::bind_sockets(const Endpoint& listen) {
    const auto bind_udp = [&] {
        transport_ = std::make_unique<UdpTransport>(listen, settings_.config.max_datagram_bytes,
                                                    counters_, seal_timers_.reject_after, log_);
    };
    bind_udp();
    control_.start();
    workers_ = std::make_unique<WorkerPool>(io_, settings_.worker_executable,
                                            settings_.config.transfer.workers, log_);
    workers_->start();
    make_transfers();
    // TCP takes the UDP port's number. When the kernel picked that number,
    // TCP may have it in use already (another connection's local port):
    // then pick another pair.
    const bool any_port = parse_host_port(endpoint_key(listen), true).port == 0;
    for (int attempt = 1;; ++attempt) {
        try {
            transfers_->start(transport_->local_endpoint());
            return;
        } catch (const std::system_error& e) {
            // Asio's error category maps no std::errc here: compare errno.
            if (!any_port || e.code().value() != EADDRINUSE || attempt == 20) throw;
            transport_.reset();
            bind_udp();
        }
    }
}

void Daemon::make_transfers() {
    transfers_ = std::make_unique<TransferManager>(
        TransferContext{io_, settings_.config, settings_.name, settings_.state_dir, *workers_,
                        [this](const Endpoint& to, std::string datagram) {
                            // Sealed only: without a session it is dropped (and one
                            // asked for); the transfer's own resends carry it.
                            const std::string peer = endpoint_key(to);
                            if (!peer_keys_.held(peer) && handshaker_.ready(to, peer))
                                transport_->send(to, std::move(datagram));
                            else
                                bump(counters_.sealed_send_dropped);
                        },
                        [this](const std::string& line) { followers_.notify(line, ""); },
                        [this](std::function<void(Store&)> work, std::function<void(bool)> then) {
                            persist(std::move(work), std::move(then));
                        },
                        log_});
}

void Daemon::stop() {
    if (!running_ && !transport_) return;
    running_ = false;
    watchdog_.stop();
    control_.stop();
    if (transfers_) transfers_->stop();
    if (workers_) workers_->stop();
    outbox_.stop();
    handshaker_.stop();
    hold_scan_.stop();
    peers_.stop();
    messages_.stop();
    trust_.stop();
    peer_keys_.stop();
    followers_.clear();
    if (transport_) transport_->stop();
    if (store_worker_) store_worker_->stop();  // commits what is queued
    intake_.reset();
    sessions_.reset();
    inbound_.reset();
    store_worker_.reset();
    transfers_.reset();
    workers_.reset();
    transport_.reset();
    reader_.reset();
}

std::string Daemon::listen_address() const {
    return transport_ ? endpoint_key(transport_->local_endpoint()) : settings_.config.listen;
}

void Daemon::handle_transfer(TransferRequest request, std::shared_ptr<ReplySink> reply) {
    const std::string spec = request.peer;
    peers_.resolve_destination(
        spec, reply, [this, request = std::move(request), reply](const Endpoint& to) {
            reply->receive_fds(request.fds,
                               [this, request, reply, to](OwnedFds fds, const std::string& error) {
                                   if (!running_) return;
                                   if (!error.empty()) {
                                       reply->send_line(error_reply(codes::failed, error));
                                       return reply->finish();
                                   }
                                   transfers_->begin_outgoing(request, to, std::move(fds), reply);
                               });
        });
}

void Daemon::handle_peers(std::shared_ptr<ReplySink> reply) {
    reply->send_line(peers_.peers_line(reader_->peers(), peer_keys_));
    reply->finish();
}

void Daemon::handle_id(std::shared_ptr<ReplySink> reply) {
    reply->send_line(reply_line({{"ok", true},
                                 {"fingerprint", identity_->fingerprint()},
                                 {"short", identity_->short_fingerprint()},
                                 {"public_key", identity_->public_key_hex()},
                                 {"name", settings_.name}}));
    reply->finish();
}

void Daemon::handle_stall(const StallRequest& request, std::shared_ptr<ReplySink> reply) {
    if (!settings_.test_hooks) {
        reply->send_line(error_reply(codes::bad_request,
                                     "stall is a test hook: start chatd with "
                                     "CHATD_TEST_HOOKS=1 to use it"));
        return reply->finish();
    }
    const auto how_long = std::chrono::milliseconds(static_cast<long>(request.seconds * 1000));
    log_->warn("test hook: stalling the {} loop for {} ms", request.loop, how_long.count());
    switch (loop_named(request.loop)) {
        case Loop::receiver:
            transport_->stall_receiver(how_long);
            break;
        case Loop::sender:
            transport_->stall_sender(how_long);
            break;
        case Loop::store:
            store_worker_->submit(
                {[how_long](Store&) { std::this_thread::sleep_for(how_long); }, {}});
            break;
        case Loop::control:
            post([how_long] { std::this_thread::sleep_for(how_long); });
            break;
    }
    reply->send_line(reply_line({{"ok", true}}));
    reply->finish();
}

std::string Daemon::status_line() const {
    const std::size_t transfers = transfers_ ? transfers_->active() : 0;
    return "listening on " + listen_address() + "; " + std::to_string(peers_.size()) +
           " peers known; " + std::to_string(transfers) + " transfers running; " +
           std::to_string(outbox_.pending()) + " messages awaiting an ack";
}

void Daemon::reload() {
    watchdog_.reloading();
    Config fresh;
    try {
        if (!settings_.load_config) throw ConfigError("no configuration to reload");
        fresh = settings_.load_config();
    } catch (const ConfigError& e) {
        log_->error("reload refused, the running configuration stays: {}", e.what());
        watchdog_.reload_refused();
        return;
    }
    const ReloadChanges changes = diff_for_reload(settings_.config, fresh);
    settings_.config = std::move(fresh);
    log_->set_level(spdlog::level::from_str(settings_.config.log_level));
    peer_keys_.set_policies(settings_.config.security.accept_new_peers,
                            settings_.config.security.plain_peers);
    log_->info("configuration reloaded; changed: {}",
               changes.changed.empty() ? "nothing" : join_keys(changes.changed));
    if (!changes.need_restart.empty())
        log_->warn("not changed until a restart: {}", join_keys(changes.need_restart));
    watchdog_.reloaded();
}

void Daemon::handle_status(std::shared_ptr<ReplySink> reply) {
    const auto pins = peer_keys_.pins();
    const nlohmann::json security = {
        {"accept_new_peers", std::string(accept_new_peers_name(pins->accept_new_peers()))},
        {"plain_peers", std::string(plain_peers_name(pins->plain_peers()))}};
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started_);
    reply->send_line(
        reply_line({{"ok", true},
                    {"version", CHAT_VERSION},
                    {"name", settings_.name},
                    {"listen", listen_address()},
                    {"socket", settings_.socket_path},
                    {"state_dir", settings_.state_dir},
                    {"uptime_seconds", uptime.count()},
                    {"outbox", outbox_.pending()},
                    {"followers", followers_.count()},
                    {"workers", workers_json()},
                    {"transfers", transfers_ ? transfers_->active() : 0},
                    {"heap_bytes", heap_bytes_in_use()},
                    {"store_cache_bytes", store_worker_->cache_bytes() + reader_->cache_bytes()},
                    {"counters", counters_json(counters_)},
                    {"security", security}}));
    reply->finish();
}

nlohmann::json Daemon::workers_json() const {
    if (!workers_) return nullptr;
    return {{"pids", workers_->pids()},
            {"busy", workers_->busy()},
            {"queued", workers_->queued()},
            {"restarts", workers_->restarts()}};
}

}  // namespace chat
