#pragma once
// What the transfer manager and its parts are given by the daemon: the
// io_context they run on (the control thread), the config, the worker
// pool, and the ways out (datagrams, followers, the store).
#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config.hpp"
#include "net.hpp"
#include "store.hpp"
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

// Saves a transfer's row on the store thread (stamped now); `then` as
// TransferContext::persist's.
void persist_row(const TransferContext& ctx, TransferRow row, std::function<void(bool)> then);

}  // namespace chat
