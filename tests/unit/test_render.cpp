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
                "outbox":2,"counters":{"dropped_malformed":4},
                "workers":{"pids":[1,2],"busy":1,"queued":1,"restarts":0}})");
        const std::string shown = render_status(status);
        CHECK(shown.find("dropped-malformed=4") != std::string::npos);
        CHECK(shown.find("2 awaiting an ack") != std::string::npos);
        CHECK(shown.find("2 processes, 1 busy, 1 job queued, 0 restarted") != std::string::npos);
        CHECK(shown.find("security") == std::string::npos);
        auto secured = status;
        secured["security"] = {{"accept_new_peers", "verified"}, {"plain_peers", "deny"}};
        CHECK(render_status(secured).find(
                  "  security   accept_new_peers=verified plain_peers=deny\n") !=
              std::string::npos);
    }

    TEST_CASE("verify shows both fingerprints and the safety number in two rows") {
        const auto reply = nlohmann::json::parse(
            R"({"ok":true,"peer":"10.0.0.5:7890","fingerprint":"AAAAAAA-BBBBBBB",
                "peer_fingerprint":"CCCCCCC-DDDDDDD","short_code":"668812","trust":"unverified",
                "safety_number":"15879 26512 35684 55554 63649 75502 53382 96597 51745 53712 96093 39774"})");
        CHECK(render_verify(reply, "bob") ==
              "your fingerprint:  AAAAAAA-BBBBBBB\n"
              "bob's fingerprint: CCCCCCC-DDDDDDD\n"
              "safety number:\n"
              "    15879 26512 35684 55554 63649 75502\n"
              "    53382 96597 51745 53712 96093 39774\n"
              "short code: 668812\n");
        auto changed = reply;
        changed["pinned_fingerprint"] = "EEEEEEE-FFFFFFF";
        CHECK(
            render_verify(changed, "bob")
                .find("  (the key bob offers now; the one pinned before was EEEEEEE-FFFFFFF)\n") !=
            std::string::npos);
        CHECK(render_verify_question("bob") == "Does bob show the same number? [y/N] ");
        CHECK(render_verified(reply) == "10.0.0.5:7890 is verified: CCCCCCC-DDDDDDD\n");
        CHECK(render_verify_not_asked("bob") ==
              "chatcli: not asked (stdin is no terminal): bob is not verified, nothing changed; "
              "once the numbers match, run chatcli verify bob on a terminal, or chatcli verify "
              "--yes bob");
        CHECK(render_not_verified("bob") ==
              "chatcli: not confirmed: bob is not verified, nothing changed (chatcli verify "
              "--yes confirms without asking)");
        CHECK(render_trusted(nlohmann::json::parse(
                  R"({"ok":true,"peer":"10.0.0.5:7890","fingerprint":"CCCCCCC-DDDDDDD"})")) ==
              "pinned CCCCCCC-DDDDDDD for 10.0.0.5:7890, verified; messages held for it are sent "
              "now\n");
    }

    TEST_CASE("id shows the name and the fingerprint") {
        const struct {
            const char* reply;
            const char* shown;
        } cases[] = {
            {R"({"ok":true,"name":"alice","fingerprint":"P56IOI7-MZJNU2Y","short":"P56IOI7"})",
             "alice  P56IOI7-MZJNU2Y\n"},
            {R"({"ok":true,"name":"a\u001b[2Jb","fingerprint":"X"})", "a^[[2Jb  X\n"},
            {R"({"ok":true})", "  ?\n"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.reply);
            CHECK(render_id(nlohmann::json::parse(c.reply)) == c.shown);
        }
    }

    TEST_CASE("a transfer's summary: data time, bytes sent this run, where it landed") {
        using nlohmann::json;
        const auto done = [](const char* text) { return render_done(json::parse(text)); };
        // The wait for a person to accept ("seconds") is not data time.
        CHECK(done(R"j({"files":3,"bytes":2097152,"seconds":30.0,"data_seconds":2.0,
                        "names":["photos"],"placed":["photos"],"sent_bytes":2097152})j") ==
              "done: 3 files, 2.0 MiB, 2.00 s, 1.0 MiB/s, verified by the receiver");
        CHECK(done(R"j({"files":1,"bytes":1024,"seconds":0,"data_seconds":0,"names":["photos"],
                        "placed":["photos (1)"],"sent_bytes":1024})j") ==
              "done: 1 file, 1.0 KiB, 0.00 s, verified by the receiver\n"
              "  arrived as: photos (1)");
        // A resume: the rate is of what moved, not of what was there.
        CHECK(done(R"j({"files":300,"bytes":209715200,"data_seconds":11.23,"names":["a"],
                        "placed":["a"],"sent_bytes":197132288})j") ==
              "done: 300 files, 200.0 MiB (12.0 MiB already there), 11.2 s, 16.7 MiB/s, "
              "verified by the receiver");
        // An older chatd without data_seconds.
        CHECK(done(R"j({"files":2,"bytes":4096,"seconds":1,"sent_bytes":1024})j") ==
              "done: 2 files, 4.0 KiB (3.0 KiB already there), 1.00 s, 1.0 KiB/s, "
              "verified by the receiver");
    }

    TEST_CASE("counts agree with their noun") {
        CHECK(count_of(0, "file", "files") == "0 files");
        CHECK(count_of(1, "file", "files") == "1 file");
        CHECK(count_of(2, "file", "files") == "2 files");
        const auto offer = nlohmann::json::parse(
            R"({"id":4,"transfer_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","from":"p:1","files":1,
                "bytes":5,"names":["x"]})");
        CHECK(render_offer(offer).starts_with("offer #4 (a1b2c3d4) from p:1: x, 1 file, 5 B\n"));
        const auto listed = nlohmann::json::parse(
            R"({"id":4,"transfer_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","direction":"out",
                "peer":"p:1","state":"offered","detail":"no answer yet; retrying","files":1,
                "files_done":0,"bytes":5,"bytes_done":0,"names":["x"]})");
        CHECK(render_transfer(listed) ==
              "#4 (a1b2c3d4)  to p:1  offered (no answer yet; retrying)  x  0/1 file, 0 B / 5 B");
    }

    TEST_CASE("the time left is rounded up and never 0s while time remains") {
        CHECK(render_eta(std::nullopt).empty());
        CHECK(render_eta(0.0).empty());
        CHECK(render_eta(0.2) == "<1s");
        CHECK(render_eta(1.0) == "1s");
        CHECK(render_eta(1.01) == "2s");
        CHECK(render_eta(59.5) == "1m 0s");
        ProgressFields f{100, 1000, 1, 2, 500, 0.4};
        CHECK(layout_progress(f, 200).ends_with("ETA <1s"));
        f.eta.reset();  // unknown: not shown
        CHECK(layout_progress(f, 200).find("ETA") == std::string::npos);
    }

    TEST_CASE("the progress line fits any width, dropping fields, never wrapping") {
        const auto event = nlohmann::json::parse(
            R"({"event":"progress","bytes":471859200,"total_bytes":1073741824,"files":12,
                "total_files":100,"rate":115343360.0,"eta":5.2})");
        CHECK(render_progress(event, 200) ==
              "[##########..............] 43%  450.0 MiB / 1.0 GiB  12/100 files  110.0 MiB/s  "
              "ETA 6s");
        struct Row {
            std::size_t width;
            const char* line;
        };
        // What each width keeps: the bar shrinks first, then fields go.
        const Row rows[] = {
            {200,
             "[##########..............] 43%  450.0 MiB / 1.0 GiB  12/100 files  110.0 MiB/s  ETA "
             "6s"},
            {80,
             "[#######...........] 43%  450.0 MiB / 1.0 GiB  12/100 files  110.0 MiB/s  ETA 6s"},
            {60, "[#####.......] 43%  450.0 MiB / 1.0 GiB  110.0 MiB/s  ETA 6s"},
            {40, "[##########..............] 43%  ETA 6s"},
            {25, "[####.......] 43%  ETA 6s"},
            {20, "[######........] 43%"},
            {15, "43%"},
            {3, "43%"},
            {2, "43"},
        };
        for (const auto& row : rows) {
            CAPTURE(row.width);
            CHECK(render_progress(event, row.width) == row.line);
        }
        // Every width from 20 to 200, at several points of a transfer.
        for (const double done : {0.0, 0.01, 0.5, 0.999, 1.0}) {
            ProgressFields f{static_cast<std::uint64_t>(done * 1e12),
                             1'000'000'000'000ull,
                             static_cast<std::uint64_t>(done * 123456),
                             123456,
                             1e9,
                             12345.6};
            for (std::size_t width = 0; width <= 200; ++width) {
                CAPTURE(width);
                CAPTURE(done);
                const std::string line = layout_progress(f, width);
                CHECK(line.size() <= width);
                CHECK(line.find('\n') == std::string::npos);
                if (width >= 20) CHECK(line.find('%') != std::string::npos);
            }
        }
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
        // With their keys: a changed one in capitals, a plain peer unauthenticated, a key
        // pinned before first contact not seen yet.
        CHECK(render_peers(nlohmann::json::parse(
                  R"({"aliases":{},"peers":[{"address":"p:1","last_seen":"2025-11-26T18:53:36.123Z",
                      "speaks":"envelope","fingerprint":"ABCDEFG","trust":"key_changed"},
                      {"address":"p:2","last_seen":"2025-11-26T18:53:36.123Z","speaks":"plain",
                      "trust":"plain"},
                      {"address":"p:3","fingerprint":"HIJKLMN","trust":"verified"}]})")) ==
              "peers seen:\n"
              "  p:1  last seen 2025-11-26 19:53:36  speaks envelope  key ABCDEFG  KEY CHANGED\n"
              "  p:2  last seen 2025-11-26 19:53:36  speaks plain  plain, unauthenticated\n"
              "  p:3  not seen yet  key HIJKLMN  verified\n");
        if (saved) {
            ::setenv("TZ", before.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
}
