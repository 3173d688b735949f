#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "flat_json.hpp"

using namespace chat;
using nlohmann::json;

TEST_SUITE("flat_json") {
    TEST_CASE("a flat object reads as json reads it") {
        const std::string cases[] = {
            "{}",
            R"({"cmd":"status"})",
            R"({"cmd":"transfer","fds":3,"manifest":"{\"entries\":[],\"version\":1}","peer":"bob","wait":true})",
            R"({"a":-5,"b":0,"c":-0,"d":9999999999999999999,"e":-9223372036854775807,"f":null,"g":false})",
            R"({"a":1,"a":"last wins"})",
            R"({"t":"line\nbreak \"quoted\" back\\slash \u0001\u007f","\u0041":"key escaped"})",
            "{\"utf8\":\"caf\xc3\xa9 \xe6\x97\xa5\"}",
            R"({"cmd":"send","texts":["a","b \"c\"\n"],"wait":false})",
            R"({"texts":[],"empty":[""]})",
            "{\"texts\":[\"caf\xc3\xa9\"]}",
        };
        for (const auto& text : cases) {
            CAPTURE(text);
            const auto flat = read_flat_object(text);
            REQUIRE(flat);
            CHECK(*flat == json::parse(text));
        }
    }

    TEST_CASE("anything else is left to json") {
        const std::string cases[] = {
            "",
            "[]",
            R"({ "cmd":"status"})",  // whitespace
            R"({"cmd": "status"})",
            R"({"texts":["a",1]})",  // an array of anything but strings
            R"({"texts":[1]})",
            R"({"texts":[["a"]]})",
            R"({"texts":[{}]})",
            R"({"texts":["a",]})",
            R"({"texts":["a" ]})",
            R"({"texts":["a")",
            "{\"texts\":[\"\xff\"]}",
            R"({"o":{}})",
            R"({"x":1.5})",  // fraction, exponent
            R"({"x":1e3})",
            R"({"x":01})",                     // not JSON
            R"({"x":123456789012345678901})",  // too long for us
            R"({"x":-9223372036854775808})",
            R"({"t":"\u00e9"})",  // an escape above U+007F
            R"({"t":"\ud83d\ude00"})",
            "{\"t\":\"\xff\"}",  // not UTF-8
            "{\"\xc3\":1}",
            R"({"x":tru})",
            R"({"x":1})"
            "\r",
            R"({"x":1}{})",
            R"({"x":1,})",
            R"({"x")",
        };
        for (const auto& text : cases) {
            CAPTURE(text);
            CHECK_FALSE(read_flat_object(text));
        }
    }

    TEST_CASE("integers, as json reads them") {
        struct Case {
            std::string text;
            bool read;
            std::size_t end;
        };
        const Case cases[] = {
            {"0,", true, 1},   {"-0}", true, 2},
            {"42", true, 2},   {"-17]", true, 3},
            {"1.0", false, 0}, {"2E1", false, 0},
            {"007", false, 0}, {"-", false, 0},
            {"x", false, 0},   {"99999999999999999999", false, 0},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            std::size_t at = 0;
            json value;
            CHECK(read_json_integer(c.text, at, value) == c.read);
            CHECK(at == c.end);
            if (c.read) CHECK(value == json::parse(c.text.substr(0, c.end)));
        }
        std::size_t at = 0;
        json value;
        REQUIRE(read_json_integer("7", at, value));
        CHECK(value.is_number_unsigned());
        at = 0;
        REQUIRE(read_json_integer("-7", at, value));
        CHECK(value.is_number_integer());
        CHECK_FALSE(value.is_number_unsigned());
    }
}
