#pragma once
// Remembers the most recent message keys so a retried or network-duplicated
// message is recognised without a store lookup. Bounded: the oldest key is
// forgotten first. Not thread-safe; the receiver thread owns its window.
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace chat {

class DedupWindow {
public:
    explicit DedupWindow(std::size_t capacity);

    // True if the key is new (and now remembered), false if seen recently.
    bool insert(const std::string& key);
    bool contains(const std::string& key) const { return seen_.contains(key); }
    std::size_t size() const { return order_.size(); }

private:
    std::size_t capacity_;
    std::deque<std::string> order_;
    std::unordered_set<std::string> seen_;
};

}  // namespace chat
