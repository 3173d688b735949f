#include "service_watchdog.hpp"

#include <spdlog/logger.h>

#include <utility>

#include "store_worker.hpp"
#include "udp_transport.hpp"

namespace chat {

ServiceWatchdog::ServiceWatchdog(asio::io_context& io, ServiceEnvironment service,
                                 std::shared_ptr<spdlog::logger> log)
    : service_(std::move(service)),
      log_(std::move(log)),
      notifier_(service_.notify_socket),
      timer_(io) {}

void ServiceWatchdog::start(UdpTransport& transport, StoreWorker& store, Status status) {
    transport_ = &transport;
    store_ = &store;
    status_ = std::move(status);
    started_ = true;
    last_status_ = status_();
    notifier_.notify("READY=1\nSTATUS=" + last_status_);
    arm();
}

void ServiceWatchdog::stop() {
    if (started_) notifier_.notify("STOPPING=1");
    started_ = false;
    timer_.cancel();
}

void ServiceWatchdog::reloading() const { notifier_.notify("RELOADING=1"); }

void ServiceWatchdog::reload_refused() const { notifier_.notify("READY=1"); }

void ServiceWatchdog::reloaded() {
    if (status_) last_status_ = status_();
    notifier_.notify("READY=1\nSTATUS=" + last_status_);
}

void ServiceWatchdog::arm() {
    if (!notifier_.enabled()) return;
    const auto watchdog = service_.watchdog;
    // Twice per watchdog period, as sd_watchdog_enabled(3) advises.
    timer_.expires_after(watchdog.count() > 0 ? std::chrono::microseconds(watchdog / 2)
                                              : std::chrono::microseconds(5'000'000));
    timer_.async_wait([this](asio::error_code ec) {
        if (!ec && started_) on_tick();
    });
}

void ServiceWatchdog::on_tick() {
    if (service_.watchdog.count() > 0) check_loops();
    if (auto status = status_(); status != last_status_) {
        last_status_ = std::move(status);
        notifier_.notify("STATUS=" + last_status_);
    }
    arm();
}

// The control loop answers by running this; the others by the probes of
// the last tick having come back.
void ServiceWatchdog::check_loops() {
    const std::string stuck = probes_.tick(transport_->probes_received(), store_beats_.load());
    if (stuck.empty()) {
        notifier_.notify("WATCHDOG=1");
        if (std::exchange(withheld_, false))
            log_->info("every loop answers again; watchdog pings resumed");
    } else if (!std::exchange(withheld_, true)) {
        log_->error("{} stopped answering; withholding the watchdog ping", stuck);
    }
    transport_->send_probe();
    store_->submit({[](Store&) {}, [this](bool) { store_beats_.fetch_add(1); }});
}

}  // namespace chat
