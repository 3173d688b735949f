#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "render.hpp"

using namespace chat;
using namespace chat::cli;

TEST_SUITE("render") {
    TEST_CASE("peer text and names cannot drive the terminal or forge a line") {
        const MessageView m{1,
                            "in",
                            "10.0.0.5:7890",
                            "ev\x1b[2Jil",
                            "hi\nbob (10.0.0.6:7890): fake\x07",
                            0,
                            false,
                            "received",
                            0};
        const std::string shown = render_message(m);
        CHECK(shown.find('\x1b') == std::string::npos);
        CHECK(shown.find('\x07') == std::string::npos);
        CHECK(shown.find("ev^[[2Jil (10.0.0.5:7890): hi\n  bob (10.0.0.6:7890): fake^G") !=
              std::string::npos);
    }

    TEST_CASE("sent messages show their delivery state; plain ones are marked") {
        CHECK(render_message({1, "out", "p:1", "", "yo", 0, false, "queued", 0})
                  .ends_with("-> p:1: yo  (queued)"));
        CHECK(render_message({1, "in", "p:1", "", "yo", 0, true, "received", 0})
                  .ends_with("p:1 [plain]: yo"));
    }

    TEST_CASE("durations") {
        CHECK(render_duration(5) == "5s");
        CHECK(render_duration(65) == "1m 5s");
        CHECK(render_duration(3 * 3600 + 5) == "3h 0m 5s");
        CHECK(render_duration(86400 + 61) == "1d 0h 1m 1s");
    }

    TEST_CASE("status shows the counters") {
        const auto status = nlohmann::json::parse(
            R"({"version":"1","name":"a","listen":"x","socket":"s","state_dir":"d","uptime_seconds":3,
                "outbox":2,"counters":{"dropped_malformed":4}})");
        const std::string shown = render_status(status);
        CHECK(shown.find("dropped-malformed=4") != std::string::npos);
        CHECK(shown.find("2 awaiting an ack") != std::string::npos);
    }

    TEST_CASE("a transfer's summary says where it landed and what a resume skipped") {
        using nlohmann::json;
        const auto done = [](const char* text) { return render_done(json::parse(text)); };
        CHECK(done(R"j({"files":3,"bytes":2097152,"seconds":2.0,"names":["photos"],
                        "placed":["photos"],"sent_bytes":2097152})j") ==
              "done: 3 files, 2.0 MiB, verified by the receiver, in 2.00 s (1.0 MiB/s)");
        CHECK(done(R"j({"files":1,"bytes":1024,"seconds":0,"names":["photos"],
                        "placed":["photos (1)"],"sent_bytes":1024})j") ==
              "done: 1 files, 1.0 KiB, verified by the receiver, in 0.00 s\n"
              "  arrived as: photos (1)");
        CHECK(done(R"j({"files":1,"bytes":4096,"seconds":1,"names":["a"],"placed":["a"],
                        "sent_bytes":1024})j") ==
              "done: 1 files, 4.0 KiB, verified by the receiver, in 1.00 s (4.0 KiB/s)\n"
              "  resumed: 3.0 KiB were there already, 1.0 KiB sent");
    }

    TEST_CASE("a message shows when it was sent; and when it arrived, if much later") {
        const char* saved = std::getenv("TZ");
        const std::string before = saved ? saved : "";
        ::setenv("TZ", "XYZ-1", 1);  // an hour east of UTC
        ::tzset();
        constexpr std::int64_t t = 1'764'183'216'123LL;  // 2025-11-26 18:53:36 UTC
        struct Case {
            MessageView message;
            std::string shown;
        };
        const Case cases[] = {
            {{1, "in", "p:1", "al", "yo", t + 2000, false, "received", t},
             "[2025-11-26 19:53:36] al (p:1): yo"},
            {{1, "in", "p:1", "al", "yo", t + 3'600'000, false, "received", t},
             "[2025-11-26 19:53:36, received 2025-11-26 20:53:36] al (p:1): yo"},
            {{1, "in", "p:1", "al", "yo", t, false, "received", t + 120'000},  // a fast clock
             "[2025-11-26 19:55:36, received 2025-11-26 19:53:36] al (p:1): yo"},
            {{1, "in", "p:1", "", "yo", t, true, "received", 0},
             "[2025-11-26 19:53:36] p:1 [plain]: yo"},
            {{1, "out", "p:1", "", "yo", t, false, "queued", t},
             "[2025-11-26 19:53:36] -> p:1: yo  (queued)"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.shown);
            CHECK(render_message(c.message) == c.shown);
        }
        CHECK(render_peers(nlohmann::json::parse(
                  R"({"aliases":{},"peers":[{"address":"p:1","last_seen":"2025-11-26T18:53:36.123Z",
                      "speaks":"envelope"}]})")) ==
              "peers seen:\n  p:1  last seen 2025-11-26 19:53:36  speaks envelope\n");
        if (saved) {
            ::setenv("TZ", before.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
}
