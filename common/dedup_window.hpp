#pragma once
// Remembers the most recent message keys so a retried or network-duplicated
// message is recognised without a store lookup. Bounded: the oldest key is
// forgotten first. Not thread-safe; the store thread owns its window.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

class DedupWindow {
public:
    explicit DedupWindow(std::size_t capacity);
    // True if the key is new (and now remembered), false if seen recently.
    // Taken by value: a new key is kept without a copy.
    bool insert(std::string key);
    bool contains(std::string_view key) const;
    std::size_t size() const { return size_; }

private:
    struct Kept {
        std::string key;
        std::uint64_t hash;
    };
    // Each slot is empty (0) or holds the low half of a key's hash above the
    // key's place in ring_ plus one: a probe reads only the slots until a
    // fingerprint matches. The node-based set this replaced missed the cache
    // three times a lookup, a sixth of the store thread under load.
    static std::uint64_t slot_for(std::uint64_t hash, std::size_t place) {
        return (hash << 32) | (place + 1);
    }
    static std::size_t place_in(std::uint64_t slot) {
        return static_cast<std::size_t>(slot & 0xffff'ffff) - 1;
    }
    // Where the key is (found) or the empty slot that ends its probe.
    std::size_t probe(std::string_view key, std::uint64_t hash, bool& found) const;
    void forget_oldest();

    std::size_t capacity_;
    std::vector<Kept> ring_;  // arrival order, the oldest at head_ once full
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    std::vector<std::uint64_t> slots_;  // open addressing, linear probing
    std::size_t mask_;
};

}  // namespace chat
