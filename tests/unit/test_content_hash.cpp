// XXH3-128 against reference values from xxh128sum (Debian's xxhash).
#include <doctest/doctest.h>

#include <string>

#include "content_hash.hpp"

using chat::ContentHash;

namespace {
std::string hash_of(const std::string& data, std::size_t chunk) {
    ContentHash h;
    for (std::size_t i = 0; i < data.size(); i += chunk) {
        h.update(data.data() + i, std::min(chunk, data.size() - i));
    }
    return h.hex();
}
}  // namespace

TEST_SUITE("content_hash") {
    TEST_CASE("reference vectors, however the data is chunked") {
        const std::string a_million(1'000'000, 'a');
        struct Case {
            std::string data, hex;
        };
        const Case cases[] = {
            {"", "99aa06d3014798d86001c324468d497f"},
            {"hello world", "df8d09e93f874900a99b8775cc15b6c7"},
            {a_million, "a545df8e384a9579b1fd6fae5285c4eb"},
        };
        for (const auto& c : cases) {
            for (std::size_t chunk : {1u, 7u, 4096u, 1u << 20}) {
                CAPTURE(chunk);
                CHECK(hash_of(c.data, chunk) == c.hex);
            }
        }
    }

    TEST_CASE("reset starts over") {
        ContentHash h;
        h.update("junk", 4);
        h.reset();
        h.update("hello world", 11);
        CHECK(h.hex() == "df8d09e93f874900a99b8775cc15b6c7");
    }
}
