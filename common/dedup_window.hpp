#pragma once
// Remembers the most recent message keys so a retried or network-duplicated
// message is recognised without a store lookup. Bounded: the oldest key is
// forgotten first. Not thread-safe; the receiver thread owns its window.
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace chat {

class DedupWindow {
public:
    explicit DedupWindow(std::size_t capacity);

    // True if the key is new (and now remembered), false if seen recently.
    // Taken by value: a new key is kept without a copy.
    bool insert(std::string key);
    bool contains(std::string_view key) const { return seen_.contains(key); }
    std::size_t size() const { return order_.size(); }

private:
    std::size_t capacity_;
    // Each key once: the set views the strings in the deque, whose elements
    // stay in place as keys are added at the back and dropped at the front.
    std::deque<std::string> order_;
    std::unordered_set<std::string_view> seen_;
};

}  // namespace chat
