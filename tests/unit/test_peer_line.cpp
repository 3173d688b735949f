// The peer's lines on a transfer's data stream, read through checked
// getters: whatever the other chatd sends, a bad line is a protocol
// failure with a clear text, never a json exception or a silent default.
#include <doctest/doctest.h>

#include <string>

#include "stream_io.hpp"
#include "transfer_stream.hpp"

using namespace chat;
using stream_io::PeerLine;

TEST_SUITE("peer_line") {
    TEST_CASE("well-formed fields read as sent; absent ones take the fallback") {
        const PeerLine verdict(R"({"error":"hash mismatch","file":3,"ok":false})");
        CHECK(verdict.count("file") == 3);
        CHECK(verdict.flag_or("ok", true) == false);
        CHECK(verdict.flag_or("fatal", false) == false);
        CHECK(verdict.text("error") == "hash mismatch");
        CHECK(verdict.text_or("reason", "refused") == "refused");
        CHECK(verdict.count_or("offset", 7) == 7);

        const PeerLine resume(R"({"resume":{"2":4096}})");
        CHECK(resume.count_in_or("resume", "2", 0) == 4096);
        CHECK(resume.count_in_or("resume", "5", 0) == 0);
        CHECK(PeerLine("{}").count_in_or("resume", "2", 0) == 0);
        // Not flat: read with json's parser, to the same fields.
        CHECK(PeerLine(R"({ "file": 1, "offset": 2 })").count("offset") == 2);
    }

    TEST_CASE("a missing or mistyped field is a protocol failure, never a crash") {
        struct Case {
            const char* line;
            const char* why;
        };
        const Case cases[] = {
            {"", "not JSON"},
            {"[1,2]", "not an object"},
            {R"({"file":1)", "cut short"},
            {R"({"ok":true})", "a verdict without its file"},
            {R"({"file":"1"})", "a file index as text"},
            {R"({"file":-1})", "a negative index"},
            {R"({"file":1.5})", "a fraction"},
            {R"({"file":1,"ok":"yes"})", "ok not a boolean"},
            {R"({"file":1,"error":7})", "an error that is not text"},
            {R"({"file":1,"resume":[1]})", "resume not an object"},
            {R"({"file":1,"resume":{"1":"4096"}})", "an offset as text"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.why);
            try {
                const PeerLine line(c.line);
                line.count("file");
                line.flag_or("ok", false);
                line.text_or("error", "refused");
                line.count_in_or("resume", "1", 0);
                FAIL("read without complaint");
            } catch (const StreamError& e) {
                CHECK(std::string(e.what()) == "the peer sent a bad line");
                CHECK(e.kind() == FailureKind::protocol);
            }
        }
    }

    TEST_CASE("a stream header with a missing or mistyped field is refused") {
        const StreamHeader good =
            decode_stream_header(R"({"files":[0,4],"token":"k","transfer":"t"})");
        CHECK(good.transfer == "t");
        CHECK(good.token == "k");
        CHECK(good.files == std::vector<std::size_t>{0, 4});
        CHECK(decode_stream_header(encode_stream_header(good)).files == good.files);

        CHECK_THROWS_WITH_AS(decode_stream_header("[]"), "not a JSON object", StreamError);
        for (const char* line : {
                 R"({"files":[0],"token":"k"})",
                 R"({"files":[0],"token":7,"transfer":"t"})",
                 R"({"files":0,"token":"k","transfer":"t"})",
                 R"({"files":["0"],"token":"k","transfer":"t"})",
             }) {
            CAPTURE(line);
            CHECK_THROWS_WITH_AS(decode_stream_header(line), "bad stream header", StreamError);
        }
    }
}
