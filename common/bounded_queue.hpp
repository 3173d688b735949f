#pragma once
// A bounded, blocking, closable multi-producer queue: the hand-off between
// the receiver, sender and store threads. A full queue makes the producer
// wait (push) or fail (try_push); close() wakes everyone, and pop drains
// what is left before it reports the end.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace chat {

template <class T>
class BoundedQueue {
public:
    explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

    bool push(T value) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
        if (closed_) return false;
        items_.push_back(std::move(value));
        not_empty_.notify_one();
        return true;
    }

    bool try_push(T value) {
        std::lock_guard lock(mutex_);
        if (closed_ || items_.size() >= capacity_) return false;
        items_.push_back(std::move(value));
        not_empty_.notify_one();
        return true;
    }

    // Blocks until an item is there; nullopt once closed and drained.
    std::optional<T> pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
        if (items_.empty()) return std::nullopt;
        T value = std::move(items_.front());
        items_.pop_front();
        not_full_.notify_one();
        return value;
    }

    // Blocks for the first item, then takes up to max without waiting.
    // Returns 0 once closed and drained.
    std::size_t pop_batch(std::vector<T>& out, std::size_t max) {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
        return take(out, max);
    }

    // As pop_batch, waiting at most `timeout` for the first item: 0 then too.
    template <class Rep, class Period>
    std::size_t pop_batch_for(std::vector<T>& out, std::size_t max,
                              std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock lock(mutex_);
        not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
        return take(out, max);
    }

    // Whether close() was called (items may still be queued).
    bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }

    // As pop_batch, without waiting: 0 when nothing is queued.
    std::size_t try_pop_batch(std::vector<T>& out, std::size_t max) {
        std::lock_guard lock(mutex_);
        return take(out, max);
    }

    void close() {
        std::lock_guard lock(mutex_);
        closed_ = true;
        not_empty_.notify_all();
        not_full_.notify_all();
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }

private:
    // Moves up to max items to out; the caller holds the lock.
    std::size_t take(std::vector<T>& out, std::size_t max) {
        std::size_t taken = 0;
        while (!items_.empty() && taken < max) {
            out.push_back(std::move(items_.front()));
            items_.pop_front();
            ++taken;
        }
        if (taken > 0) not_full_.notify_all();
        return taken;
    }

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<T> items_;
    bool closed_ = false;
};

}  // namespace chat
