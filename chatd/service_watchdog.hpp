#pragma once
// systemd's side of the daemon: READY/RELOADING/STOPPING and STATUS= as
// they change, and WATCHDOG=1 only while the receiver, sender, store and
// control loops all answer their probes. Outside systemd every call does
// nothing. Control thread only, but for store_beats_, which the store
// thread bumps when a probe comes back.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "loop_probes.hpp"
#include "paths.hpp"
#include "service_notify.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class StoreWorker;
class UdpTransport;

class ServiceWatchdog {
public:
    using Status = std::function<std::string()>;

    ServiceWatchdog(asio::io_context& io, ServiceEnvironment service,
                    std::shared_ptr<spdlog::logger> log);

    // Once everything runs: READY=1 with the status, then the ticks.
    void start(UdpTransport& transport, StoreWorker& store, Status status);
    // STOPPING=1 (if started), and no more ticks.
    void stop();
    void reloading() const;
    // The running configuration stays: ready again, nothing changed.
    void reload_refused() const;
    // Ready again, with the status as it is now.
    void reloaded();

private:
    void arm();
    void on_tick();
    void check_loops();

    ServiceEnvironment service_;
    std::shared_ptr<spdlog::logger> log_;
    ServiceNotifier notifier_;
    asio::steady_timer timer_;
    UdpTransport* transport_ = nullptr;
    StoreWorker* store_ = nullptr;
    Status status_;
    bool started_ = false;
    std::string last_status_;
    LoopProbes probes_;
    std::atomic<std::uint64_t> store_beats_{0};  // bumped by the store thread
    bool withheld_ = false;
};

}  // namespace chat
