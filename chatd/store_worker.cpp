#include "store_worker.hpp"

#include <pthread.h>

#include <spdlog/logger.h>

#include <chrono>
#include <thread>
#include <vector>

namespace chat {

namespace {
constexpr std::size_t kMaxBatch = 512;
constexpr std::size_t kLingerAbove = 8;
constexpr auto kLinger = std::chrono::microseconds(500);
// Delivered runs are folded into their rows once nothing has come for this
// long, a few at a time, so a burst that follows waits little.
constexpr auto kFoldWhenIdleFor = std::chrono::milliseconds(50);
constexpr std::size_t kRunsPerFold = 64;
}  // namespace

StoreWorker::StoreWorker(std::unique_ptr<Store> store, Counters& counters,
                         std::shared_ptr<spdlog::logger> log)
    : store_(std::move(store)), counters_(counters), log_(std::move(log)) {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "chatd-store");  // for top -H and perf
        run();
    });
}

StoreWorker::~StoreWorker() { stop(); }

bool StoreWorker::submit(StoreOp op) { return queue_.push(std::move(op)); }

void StoreWorker::stop() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
}

void StoreWorker::run() {
    std::vector<StoreOp> batch;
    std::vector<bool> succeeded;
    bool fold = true;      // off after a fold fails, until a commit succeeds
    bool folding = false;  // the last turn folded: still idle, so go on
    for (;;) {
        if (fold && store_->unfolded_runs() > 0) {
            const auto wait = folding ? std::chrono::milliseconds(0) : kFoldWhenIdleFor;
            if (queue_.pop_batch_for(batch, kMaxBatch, wait) == 0) {
                if (queue_.closed()) break;  // what is left folds at the next start
                fold = folding = fold_some();
                continue;
            }
            folding = false;
        } else if (queue_.pop_batch(batch, kMaxBatch) == 0) {
            break;
        }
        // Under load, a moment's wait lets one commit (one fsync) carry more;
        // a lone message (the latency case) is committed at once.
        if (batch.size() >= kLingerAbove && batch.size() < kMaxBatch) {
            std::this_thread::sleep_for(kLinger);
            queue_.try_pop_batch(batch, kMaxBatch - batch.size());
        }
        succeeded.assign(batch.size(), false);
        bool committed = false;
        try {
            store_->begin();
            for (std::size_t i = 0; i < batch.size(); ++i) {
                try {
                    if (batch[i].work) batch[i].work(*store_);
                    succeeded[i] = true;
                } catch (const std::exception& e) {
                    bump(counters_.store_errors);
                    log_->error("{}", e.what());
                }
            }
            store_->commit();
            committed = true;
            fold = true;
            bump(counters_.store_commits);
        } catch (const std::exception& e) {
            bump(counters_.store_errors);
            log_->error("store transaction of {} operations failed: {}", batch.size(), e.what());
            try {
                store_->rollback();
            } catch (const std::exception& rollback_error) {
                log_->error("{}", rollback_error.what());
            }
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].done) batch[i].done(committed && succeeded[i]);
        }
        batch.clear();
    }
}

bool StoreWorker::fold_some() {
    try {
        store_->begin();
        store_->fold_delivered(kRunsPerFold);
        store_->commit();
        return true;
    } catch (const std::exception& e) {
        bump(counters_.store_errors);
        log_->error("folding delivered marks into the messages failed: {}", e.what());
        try {
            store_->rollback();
        } catch (const std::exception& rollback_error) {
            log_->error("{}", rollback_error.what());
        }
        return false;
    }
}

}  // namespace chat
