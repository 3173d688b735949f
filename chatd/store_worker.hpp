#pragma once
// The store thread: takes write operations from a bounded queue and runs
// whatever has piled up in one transaction, so a burst costs one fsync,
// not one per message. Each op's `done` runs after the commit, on the
// store thread, with whether its work is durable.
#include <functional>
#include <memory>
#include <thread>

#include "bounded_queue.hpp"
#include "counters.hpp"
#include "store.hpp"

namespace spdlog {
class logger;
}

namespace chat {

struct StoreOp {
    std::function<void(Store&)> work;
    std::function<void(bool durable)> done;
};

class StoreWorker {
public:
    StoreWorker(std::unique_ptr<Store> store, Counters& counters,
                std::shared_ptr<spdlog::logger> log);
    ~StoreWorker();
    StoreWorker(const StoreWorker&) = delete;
    StoreWorker& operator=(const StoreWorker&) = delete;

    // Blocks while the queue is full; false once stopped.
    bool submit(StoreOp op);
    // Runs what is queued, then joins. Idempotent.
    void stop();
    std::int64_t cache_bytes() const { return store_->cache_bytes(); }

private:
    void run();
    // Folds a few delivered runs in a transaction of its own; false if it
    // failed.
    bool fold_some();

    std::unique_ptr<Store> store_;
    Counters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    BoundedQueue<StoreOp> queue_{4096};
    std::thread thread_;
};

}  // namespace chat
