#include "content_hash.hpp"

#include <xxhash.h>

#include <new>

#include "text.hpp"

namespace chat {

ContentHash::ContentHash() : state_(XXH3_createState()) {
    if (!state_) throw std::bad_alloc();
    reset();
}

ContentHash::~ContentHash() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void ContentHash::reset() { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }

void ContentHash::update(const void* data, std::size_t size) {
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), data, size);
}

std::string ContentHash::hex() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_)));
    // By hand, not snprintf: one hash per file on each side, and sixteen
    // snprintf calls were most of a small file's user time in a worker.
    std::string out(32, '0');
    for (std::size_t i = 0; i < 16; ++i) {
        out[2 * i] = kHexDigits[canonical.digest[i] >> 4];
        out[2 * i + 1] = kHexDigits[canonical.digest[i] & 0xf];
    }
    return out;
}

}  // namespace chat
