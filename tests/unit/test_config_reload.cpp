// What a reload changes at once and what waits for a restart.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "config_reload.hpp"

using namespace chat;
using Keys = std::vector<std::string>;

TEST_SUITE("config_reload") {
    TEST_CASE("keys are named as changed, or kept until a restart") {
        struct Case {
            const char* name;
            std::function<void(Config&)> edit;
            Keys changed, need_restart;
        };
        const Case cases[] = {
            {"nothing", [](Config&) {}, {}, {}},
            {"log level", [](Config& c) { c.log_level = "debug"; }, {"log_level"}, {}},
            {"retry timing",
             [](Config& c) {
                 c.retry_initial_ms = 100;
                 c.retry_max_ms = 1000;
             },
             {"retry_initial_ms", "retry_max_ms"},
             {}},
            {"an alias", [](Config& c) { c.peers["bob"] = "10.0.0.5"; }, {"peers"}, {}},
            {"transfer policy",
             [](Config& c) { c.transfer.accept = "all"; },
             {"transfer.accept"},
             {}},
            {"security policies apply",
             [](Config& c) {
                 c.security.accept_new_peers = AcceptNewPeers::verified;
                 c.security.plain_peers = PlainPeers::deny;
             },
             {"security.accept_new_peers", "security.plain_peers"},
             {}},
            {"listen waits", [](Config& c) { c.listen = "0.0.0.0:9999"; }, {}, {"listen"}},
            {"workers wait", [](Config& c) { c.transfer.workers = 2; }, {}, {"transfer.workers"}},
            {"both kinds",
             [](Config& c) {
                 c.name = "other";
                 c.max_datagram_bytes = 1000;
                 c.outbox_ttl_seconds = 5;
             },
             {"outbox_ttl_seconds"},
             {"name", "max_datagram_bytes"}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.name);
            const Config running;
            Config fresh;
            c.edit(fresh);
            const ReloadChanges changes = diff_for_reload(running, fresh);
            CHECK(changes.changed == c.changed);
            CHECK(changes.need_restart == c.need_restart);
            // What waits for a restart keeps its running value.
            CHECK(fresh.listen == running.listen);
            CHECK(fresh.name == running.name);
            CHECK(fresh.transfer.workers == running.transfer.workers);
        }
    }

    TEST_CASE("keys are joined for the log") {
        CHECK(join_keys({}) == "");
        CHECK(join_keys({"a"}) == "a");
        CHECK(join_keys({"a", "transfer.b"}) == "a, transfer.b");
    }
}
