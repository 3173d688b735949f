#include "hold_scan.hpp"

#include "clock.hpp"
#include "inbound.hpp"
#include "inbound_order.hpp"

namespace chat {

HoldScan::HoldScan(asio::io_context& io, const Config& config) : config_(config), timer_(io) {}

void HoldScan::start(Inbound& inbound) {
    inbound_ = &inbound;
    arm();
}

void HoldScan::stop() {
    inbound_ = nullptr;
    timer_.cancel();
}

void HoldScan::arm() {
    if (!inbound_) return;
    timer_.expires_after(hold_scan_period(hold_limit(config_.retry_max_ms)));
    timer_.async_wait([this](asio::error_code ec) {
        // A tick already due when stop() ran is not cancelled: check it.
        if (!ec && inbound_) on_tick();
    });
}

void HoldScan::on_tick() {
    const auto limit = hold_limit(config_.retry_max_ms);
    inbound_->release_overdue(wall_clock_ms() - limit.count(), limit.count() / 1000);
    arm();
}

}  // namespace chat
