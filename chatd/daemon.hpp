#pragma once
// The daemon apart from main(): the composition root. It opens the store,
// binds the sockets, wires the parts below together and starts and stops
// them in order; it answers `status`, applies a reload and routes control
// requests to the parts that serve them. Each part's header says which
// thread touches it:
//   Identity (loaded at start, then read-only);
//   Intake (receiver thread) → Inbound (store thread) → Followers;
//   MessageRequests → Outbox → the wire; PeerDirectory; PeerKeys and
//   TrustRequests (verify, trust); HoldScan; ServiceWatchdog;
//   TransferManager; Handshaker (all on the control thread);
//   SessionTable (receiver thread); SendKeys (inside UdpTransport, sender thread).
// The Daemon itself runs on the io_context's thread (the control thread).
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "config.hpp"
#include "control_server.hpp"
#include "counters.hpp"
#include "followers.hpp"
#include "handshaker.hpp"
#include "hold_scan.hpp"
#include "identity.hpp"
#include "message_requests.hpp"
#include "outbox.hpp"
#include "paths.hpp"
#include "peer_directory.hpp"
#include "peer_keys.hpp"
#include "request_router.hpp"
#include "service_watchdog.hpp"
#include "state_dir.hpp"
#include "store.hpp"
#include "trust_requests.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class Inbound;
class Intake;
class SessionTable;
class StoreWorker;
class TransferManager;
class UdpTransport;
class WorkerPool;

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

class Daemon {
public:
    Daemon(asio::io_context& io, DaemonSettings settings, std::shared_ptr<spdlog::logger> log);
    ~Daemon();

    // Opens the store, binds the sockets, starts the threads. Throws on
    // failure, with nothing left running.
    void start();
    // Stops the threads and closes everything; the socket file is removed.
    void stop();

    std::string listen_address() const;
    // Re-reads the config and applies what can change while running (log
    // level, peers, retry timing, transfer policy); a bad config is refused
    // and the running one stays.
    void reload();

private:
    // start(), after the directories and the lock.
    void start_services();
    // The UDP socket, the control socket, the workers and the transfers'
    // TCP listener on the UDP port's number.
    void bind_sockets(const Endpoint& listen);
    void make_transfers();
    // The table of control requests.
    void route_requests();
    void post(std::function<void()> fn);
    // A transfer's state change, through the store thread.
    void persist(std::function<void(Store&)> work, std::function<void(bool)> then);
    // Messages that became visible (store thread): on to the control thread.
    void on_shown(std::vector<MessageView> shown);

    void handle_status(std::shared_ptr<ReplySink> reply);
    void handle_peers(std::shared_ptr<ReplySink> reply);
    void handle_id(std::shared_ptr<ReplySink> reply);
    void handle_transfer(TransferRequest request, std::shared_ptr<ReplySink> reply);
    void handle_stall(const StallRequest& request, std::shared_ptr<ReplySink> reply);
    std::string status_line() const;
    nlohmann::json workers_json() const;

    asio::io_context& io_;
    DaemonSettings settings_;
    std::shared_ptr<spdlog::logger> log_;
    Counters counters_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

    std::unique_ptr<StateDirLock> state_lock_;  // held until the daemon is destroyed
    std::unique_ptr<Identity> identity_;        // loaded after the lock, before serving
    std::unique_ptr<Store> reader_;             // control thread's read connection
    std::unique_ptr<UdpTransport> transport_;
    std::unique_ptr<StoreWorker> store_worker_;  // stopped before the transport is destroyed
    std::unique_ptr<WorkerPool> workers_;
    std::unique_ptr<TransferManager> transfers_;

    PeerDirectory peers_;
    PeerKeys peer_keys_;  // before the outbox and intake, which ask it
    const SealTimers seal_timers_;
    Handshaker handshaker_;  // before the outbox, which asks it for sessions
    Followers followers_;
    Outbox outbox_;
    MessageRequests messages_;
    TrustRequests trust_;
    HoldScan hold_scan_;
    ServiceWatchdog watchdog_;
    std::unique_ptr<Inbound> inbound_;
    std::unique_ptr<SessionTable> sessions_;  // the receiver thread's, made before it starts
    std::unique_ptr<Intake> intake_;
    RequestRouter router_;
    ControlServer control_;
    bool running_ = false;
};

}  // namespace chat
