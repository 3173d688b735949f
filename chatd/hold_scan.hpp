#pragma once
// Every so often asks Inbound to show the held messages whose gap has
// stayed open longer than a sender following our retry settings would
// keep it (common/inbound_order.hpp's hold_limit). Control thread only.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "config.hpp"

namespace chat {

class Inbound;

class HoldScan {
public:
    // `config` is the running one (a reload changes retry_max_ms in place).
    HoldScan(asio::io_context& io, const Config& config);
    void start(Inbound& inbound);
    void stop();

private:
    void arm();
    void on_tick();

    const Config& config_;
    asio::steady_timer timer_;
    Inbound* inbound_ = nullptr;
};

}  // namespace chat
