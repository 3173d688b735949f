#pragma once
// The end-to-end check of a transferred file: XXH3 128-bit over its bytes,
// computed by the sender as it reads and by the receiver as it writes.
#include <cstddef>
#include <string>

namespace chat {

class ContentHash {
public:
    ContentHash();
    ~ContentHash();
    ContentHash(const ContentHash&) = delete;
    ContentHash& operator=(const ContentHash&) = delete;

    void update(const void* data, std::size_t size);
    // 32 lowercase hex digits, in XXH128's canonical (big-endian) order.
    std::string hex() const;
    void reset();

private:
    void* state_;  // XXH3_state_t, kept out of this header
};

}  // namespace chat
