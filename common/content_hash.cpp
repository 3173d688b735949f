#include "content_hash.hpp"

#include <xxhash.h>

#include <cstdio>
#include <new>

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
    std::string out(32, '0');
    for (int i = 0; i < 16; ++i) {
        std::snprintf(&out[static_cast<std::size_t>(2 * i)], 3, "%02x", canonical.digest[i]);
    }
    return out;
}

}  // namespace chat
