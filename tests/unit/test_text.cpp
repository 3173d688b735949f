#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include <cstdio>
#include <string>

#include "text.hpp"

using namespace chat;

TEST_SUITE("text") {
    TEST_CASE("UTF-8 validation") {
        struct Case {
            std::string bytes;
            bool valid;
        };
        const Case cases[] = {
            {"", true},
            {"ascii", true},
            {"\u00e9\u4e2d\xF0\x9F\x98\x80", true},
            {"\xF4\x8F\xBF\xBF", true},   // U+10FFFF
            {"\xF4\x90\x80\x80", false},  // above U+10FFFF
            {"\x80", false},              // lone continuation
            {"\xC3", false},              // truncated
            {"\xE0\x80\xAF", false},      // overlong
            {"\xED\xBF\xBF", false},      // surrogate
            {"\xFF", false},
            {std::string("a\0b", 3), true},  // NUL is valid UTF-8; sanitizing shows it
        };
        for (const auto& c : cases) {
            CAPTURE(c.bytes);
            CHECK(is_valid_utf8(c.bytes) == c.valid);
        }
    }

    TEST_CASE("terminal sanitizing makes controls visible") {
        struct Case {
            std::string in, out;
        };
        const Case cases[] = {
            {"plain text", "plain text"},
            {"\x1b[31mred\x1b[0m", "^[[31mred^[[0m"},
            {"bell\a", "bell^G"},
            {std::string("nul\0", 4), "nul^@"},
            {"del\x7f", "del^?"},
            {"tab\there", "tab\there"},
            {"line1\nline2", "line1\n  line2"},
            {"cr\roverwrite", "cr^Moverwrite"},
            {"\xC2\x9B"
             "31m",
             "<U+009B>31m"},                 // C1 CSI
            {"\u202Eevil", "<U+202E>evil"},  // right-to-left override
            {"bad\xFFutf8", "bad<FF>utf8"},
            {"\u00e9t\u00e9", "\u00e9t\u00e9"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.in);
            CHECK(sanitize_for_terminal(c.in) == c.out);
        }
        CHECK(sanitize_for_terminal("a\nb", "> ") == "a\n> b");
    }

    TEST_CASE("byte sizes for people") {
        struct Case {
            std::uint64_t bytes;
            std::string text;
        };
        const Case cases[] = {{0, "0 B"},
                              {1023, "1023 B"},
                              {1024, "1.0 KiB"},
                              {1536, "1.5 KiB"},
                              {20'000'000, "19.1 MiB"},
                              {1ULL << 40, "1.0 TiB"},
                              {1ULL << 50, "1024.0 TiB"}};
        for (const auto& c : cases) CHECK(format_bytes(c.bytes) == c.text);
    }

    TEST_CASE("JSON strings written directly") {
        struct Case {
            std::string text;
            std::string json;
        };
        const Case cases[] = {
            {"", R"("")"},
            {"plain words", R"("plain words")"},
            {"a \"quote\" and a \\", R"("a \"quote\" and a \\")"},
            {"tab\tnew\nline\rcr", R"("tab\tnew\nline\rcr")"},
            {std::string("nul\0bell\x07", 9), R"("nul\u0000bell\u0007")"},
            {"\x1f\x7f", "\"\\u001f\x7f\""},  // DEL needs no escape
            {"caf\xc3\xa9 / \xe2\x82\xac", "\"caf\xc3\xa9 / \xe2\x82\xac\""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            std::string out = "[";
            append_json_string(out, c.text);
            CHECK(out == "[" + c.json);
        }
    }

    TEST_CASE("JSON strings read back, or left to a full parser") {
        struct Case {
            std::string json;
            bool read;
            std::string text;
            std::size_t end;  // where reading stopped
        };
        const Case cases[] = {
            {R"("plain",)", true, "plain", 7},
            {R"("" )", true, "", 2},
            {R"("a\"b\\c\/d")", true, "a\"b\\c/d", 12},
            {R"("\b\f\n\r\t")", true, "\b\f\n\r\t", 12},
            {R"("\u0041\u007f\u000A")", true, "A\x7f\n", 20},
            {R"("\u00e9")", false, "", 0},        // above U+007F: json's
            {R"("\ud83d\ude00")", false, "", 0},  // a surrogate pair: json's
            {R"("\u00G1")", false, "", 0},
            {R"("\x")", false, "", 0},
            {"\"tab\there\"", false, "", 0},  // a raw control character
            {R"("open)", false, "", 0},
            {R"(x"y")", false, "", 0},
            {"\"caf\xc3\xa9\"", true, "caf\xc3\xa9", 7},
        };
        for (const auto& c : cases) {
            CAPTURE(c.json);
            std::size_t at = 0;
            std::string out;
            CHECK(read_json_string(c.json, at, out) == c.read);
            if (c.read) {
                CHECK(out == c.text);
                CHECK(at == c.end);
            }
        }
    }

    // The scans go eight bytes at a time: a byte that matters is found
    // wherever it falls in a word, and bytes next to it in value are not
    // taken for it.
    TEST_CASE("JSON strings and UTF-8 checks at every position in a word") {
        const auto escaped_by_hand = [](std::string_view text) {
            std::string json = "\"";
            for (const char c : text) {
                if (c == '"' || c == '\\') {
                    json += '\\';
                    json += c;
                } else if (c == '\n') {
                    json += "\\n";
                } else if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    json += escaped;
                } else {
                    json += c;
                }
            }
            return json + "\"";
        };
        struct Case {
            std::string inserted;
            bool escaped;  // by append_json_string
            bool utf8;     // the whole text stays valid UTF-8
        };
        const Case cases[] = {
            {"\"", true, true},        {"\\", true, true},     {"\n", true, true},
            {"\x01", true, true},      {"\x1f", true, true},   {std::string(1, '\0'), true, true},
            {" ", false, true},        {"!", false, true},     {"#", false, true},
            {"[", false, true},        {"]", false, true},     {"\x7f", false, true},
            {"\xc3\xa9", false, true}, {"\xff", false, false}, {"\x80", false, false},
        };
        for (const auto& c : cases) {
            for (std::size_t length = 0; length <= 24; ++length) {
                for (std::size_t at = 0; at <= length; ++at) {
                    std::string text(length, 'a');
                    text.insert(at, c.inserted);
                    CAPTURE(text);
                    CHECK(is_valid_utf8(text) == c.utf8);
                    if (!c.utf8) continue;
                    std::string json;
                    append_json_string(json, text);
                    CHECK(json == escaped_by_hand(text));
                    CHECK((json.size() > text.size() + 2) == c.escaped);
                    std::size_t end = 0;
                    std::string back;
                    CHECK(read_json_string(json + ",", end, back));
                    CHECK(back == text);
                    CHECK(end == json.size());
                }
            }
        }
    }

    TEST_CASE("trim") {
        CHECK(trim("  a b \n") == "a b");
        CHECK(trim(" \t\r\n").empty());
        CHECK(trim("x") == "x");
    }

    TEST_CASE("RFC 3339 in UTC with milliseconds") {
        CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
        CHECK(format_rfc3339(1'764'183'216'123LL) == "2025-11-26T18:53:36.123Z");
    }

    TEST_CASE("times for people: one form, to the second, at an offset from UTC") {
        struct Case {
            std::int64_t unix_ms;
            long offset_seconds;
            const char* shown;
        };
        const Case cases[] = {
            {0, 0, "1970-01-01 00:00:00"},
            {1'764'183'216'999LL, 0, "2025-11-26 18:53:36"},  // seconds, rounded down
            {1'764'183'216'123LL, 3600, "2025-11-26 19:53:36"},
            {1'764'183'216'123LL, -5 * 3600, "2025-11-26 13:53:36"},
            {1'764'183'216'123LL, 5 * 3600 + 1800, "2025-11-27 00:23:36"},  // past midnight
            {-1, 0, "1969-12-31 23:59:59"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.unix_ms);
            CHECK(format_person_time(c.unix_ms, c.offset_seconds) == c.shown);
        }
    }

    TEST_CASE("local time is the zone of TZ") {
        const char* saved = std::getenv("TZ");
        const std::string before = saved ? saved : "";
        ::setenv("TZ", "XYZ-5:30", 1);
        ::tzset();
        CHECK(format_local_time(1'764'183'216'123LL) == "2025-11-27 00:23:36");
        CHECK(localize_times("retried until 2025-11-26T18:53:36.123Z") ==
              "retried until 2025-11-27 00:23:36");
        ::setenv("TZ", "UTC0", 1);
        ::tzset();
        struct Case {
            const char* text;
            const char* shown;
        };
        const Case cases[] = {
            {"no time here", "no time here"},
            {"until 2025-11-26T18:53:36.123Z.", "until 2025-11-26 18:53:36."},
            {"2025-11-26T18:53:36Z and 2025-11-26T18:53:37.000Z",
             "2025-11-26 18:53:36 and 2025-11-26 18:53:37"},
            {"12025-11-26T18:53:36Z", "12025-11-26T18:53:36Z"},  // not a time of ours
            {"2025-11-26T18:53:36", "2025-11-26T18:53:36"},      // no zone: left alone
            {"", ""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            CHECK(localize_times(c.text) == c.shown);
        }
        if (saved) {
            ::setenv("TZ", before.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }

    TEST_CASE("RFC 3339 back to milliseconds") {
        CHECK(parse_rfc3339("2025-11-26T18:53:36.123Z") == 1'764'183'216'123LL);
        CHECK(parse_rfc3339("2025-11-26T18:53:36Z") == 1'764'183'216'000LL);
        CHECK(parse_rfc3339(format_rfc3339(1'764'183'216'007LL)) == 1'764'183'216'007LL);
        for (const char* bad : {"", "x", "2025-11-26 18:53:36", "2025-11-26T18:53:36.12Z",
                                "2025-11-26T18:53:36.123", "2025-11-26T18:53:36.123Zx"}) {
            CAPTURE(bad);
            CHECK(parse_rfc3339(bad) == 0);
        }
    }
}
