#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stream_lines.hpp"

using namespace chat;
using nlohmann::json;

namespace {
std::string without_newline(std::string line) {
    REQUIRE(line.back() == '\n');
    line.pop_back();
    return line;
}
}  // namespace

TEST_SUITE("stream_lines") {
    TEST_CASE("each line is what json would write, and reads back") {
        struct Case {
            std::uint64_t index, offset;
        };
        const Case cases[] = {
            {0, 0}, {7, 4096}, {18799, 1}, {9'999'999'999'999'999'999u, 1u << 31}};
        for (const auto& c : cases) {
            const std::string head = without_newline(file_head_line(c.index, c.offset));
            CHECK(head == json{{"file", c.index}, {"offset", c.offset}}.dump());
            std::uint64_t index = 1, offset = 1;
            REQUIRE(read_file_head(head, index, offset));
            CHECK(index == c.index);
            CHECK(offset == c.offset);

            const std::string verdict = without_newline(verified_line(c.index));
            CHECK(verdict == json{{"file", c.index}, {"ok", true}}.dump());
            REQUIRE(read_verified_line(verdict, index));
            CHECK(index == c.index);
        }
        const std::string hex = "0123456789abcdef0123456789abcdef";
        const std::string line = without_newline(hash_line(hex));
        CHECK(line == json{{"hash", hex}}.dump());
        std::string_view read;
        REQUIRE(read_hash_line(line, read));
        CHECK(read == hex);
    }

    TEST_CASE("anything outside the exact layout is left to json") {
        // Each is valid JSON a peer could send (or the end line, or a
        // verdict that is not ok): the readers decline, and the stream reads
        // it with json, which gives what the writers' layout would mean.
        const char* heads[] = {
            R"({"offset":0,"file":1})",       R"({"file": 1,"offset":0})",
            R"({"file":1,"offset":0} )",      R"({"file":1})",
            R"({"file":-1,"offset":0})",      R"({"file":1.5,"offset":0})",
            R"({"file":01,"offset":0})",      R"({"end":true})",
            R"({"file":1,"offset":0,"x":1})", R"({"file":"1","offset":0})",
        };
        for (const char* text : heads) {
            CAPTURE(text);
            std::uint64_t index = 0, offset = 0;
            CHECK_FALSE(read_file_head(text, index, offset));
        }
        const char* verdicts[] = {
            R"({"file":1,"ok":false,"error":"hash mismatch"})",
            R"({"ok":true,"file":1})",
            R"({"file":1,"ok":true,"fatal":true})",
            R"({"file":1,"ok":1})",
        };
        for (const char* text : verdicts) {
            CAPTURE(text);
            std::uint64_t index = 0;
            CHECK_FALSE(read_verified_line(text, index));
        }
        const char* hashes[] = {
            R"({"hash":"})",     R"({"hash":"a\"b"})", R"({"hash":"\u0061"})",
            R"({"hash":"ab"} )", R"({"hash":1})",      R"({ "hash":"ab"})",
        };
        for (const char* text : hashes) {
            CAPTURE(text);
            std::string_view hex;
            CHECK_FALSE(read_hash_line(text, hex));
        }
    }

    TEST_CASE("a hash line holds lowercase hex digits, or json reads it") {
        struct Case {
            const char* line;
            bool read;
        };
        const Case cases[] = {
            {R"({"hash":""})", true},       {R"({"hash":"00ff"})", true},
            {R"({"hash":"00FF"})", false},  {R"({"hash":"xyz"})", false},
            {"{\"hash\":\"\xff\"}", false},
        };
        for (const auto& c : cases) {
            CAPTURE(c.line);
            std::string_view hex;
            CHECK(read_hash_line(c.line, hex) == c.read);
            if (c.read) CHECK(hex == json::parse(c.line)["hash"].get<std::string>());
        }
    }
}
