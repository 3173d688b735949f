#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config.hpp"

using namespace chat;

TEST_SUITE("config") {
    TEST_CASE("an empty object gives every default") {
        const Config c = parse_config("{}");
        CHECK(c.listen == "0.0.0.0:7890");
        CHECK(c.log_level == "info");
        CHECK(c.outbox_ttl_seconds == 86400);
        CHECK(c.max_datagram_bytes == 65507);
        CHECK(c.peers.empty());
    }

    TEST_CASE("the shipped config/chatd.json shows every key with its default") {
        std::ifstream in(CHAT_SOURCE_DIR "/config/chatd.json");
        REQUIRE(in);
        std::stringstream text;
        text << in.rdbuf();
        CHECK(text.str() == default_config_json());
        CHECK_NOTHROW(parse_config(text.str()));
    }

    TEST_CASE("the security policies default to trust on first use and plain peers shown") {
        const Config defaults = parse_config("{}");
        CHECK(defaults.security.accept_new_peers == AcceptNewPeers::tofu);
        CHECK(defaults.security.plain_peers == PlainPeers::allow);
        const Config strict =
            parse_config(R"({"security":{"accept_new_peers":"verified","plain_peers":"deny"}})");
        CHECK(strict.security.accept_new_peers == AcceptNewPeers::verified);
        CHECK(strict.security.plain_peers == PlainPeers::deny);
        CHECK(parse_config(config_to_json(strict)).security == strict.security);
    }

    TEST_CASE("values are read") {
        const Config c = parse_config(R"({"listen":"[::]:9000","name":"alice","log_level":"debug",
            "peers":{"bob":"10.0.0.5","carol":"[fd00::7]:7000"},"outbox_ttl_seconds":60,
            "retry_initial_ms":100,"retry_max_ms":1000,"max_datagram_bytes":1024,
            "socket":"/run/x.sock","socket_group":"chatd","state_dir":"/var/lib/x",
            "transfer":{"workers":8}})");
        CHECK(c.listen == "[::]:9000");
        CHECK(c.name == "alice");
        CHECK(c.peers.at("bob") == "10.0.0.5");
        CHECK(c.peers.at("carol") == "[fd00::7]:7000");
        CHECK(c.outbox_ttl_seconds == 60);
        CHECK(c.retry_initial_ms == 100);
        CHECK(c.retry_max_ms == 1000);
        CHECK(c.max_datagram_bytes == 1024);
        CHECK(c.socket == "/run/x.sock");
        CHECK(c.socket_group == "chatd");
        CHECK(c.state_dir == "/var/lib/x");
        CHECK(c.transfer.workers == 8);
    }

    TEST_CASE("errors name the key and what is wrong") {
        struct Case {
            std::string json, error;
        };
        const Case cases[] = {
            {"",
             "config: not valid JSON: [json.exception.parse_error.101] parse error at line 1, "
             "column 1: syntax error while parsing value - unexpected end of input; expected "
             "'[', '{', or a literal"},
            {"[]", "config: the top level must be a JSON object"},
            {R"({"listne":"x"})", "config: unknown key 'listne'"},
            {R"({"listen":7890})", "config: 'listen' must be a string"},
            {R"({"listen":"host:99999"})",
             "config: 'listen': invalid port '99999' in 'host:99999' (expected 1-65535)"},
            {R"({"log_level":"loud"})",
             "config: 'log_level' must be one of trace, debug, info, warn, error, critical, off; "
             "got 'loud'"},
            {R"({"outbox_ttl_seconds":"1d"})", "config: 'outbox_ttl_seconds' must be an integer"},
            {R"({"outbox_ttl_seconds":0})",
             "config: 'outbox_ttl_seconds' must be between 1 and 31536000, got 0"},
            {R"({"retry_initial_ms":500,"retry_max_ms":100})",
             "config: 'retry_max_ms' must be between 500 and 3600000, got 100"},
            {R"({"max_datagram_bytes":70000})",
             "config: 'max_datagram_bytes' must be between 512 and 65507, got 70000"},
            {R"({"security":"tofu"})", "config: 'security' must be an object"},
            {R"({"security":{"accept_new_peers":"always"}})",
             "config: 'security.accept_new_peers' must be tofu or verified; got 'always'"},
            {R"({"security":{"accept_new_peers":true}})",
             "config: 'security.accept_new_peers' must be a string"},
            {R"({"security":{"plain_peers":"ALLOW"}})",
             "config: 'security.plain_peers' must be allow or deny; got 'ALLOW'"},
            {R"({"security":{"plain":"deny"}})", "config: unknown key 'security.plain'"},
            {R"({"peers":[]})", "config: 'peers' must be an object of alias: \"HOST:PORT\""},
            {R"({"peers":{"bob":5}})", "config: 'peers.bob' must be a string"},
            {R"({"peers":{"b:b":"h"}})",
             "config: peer alias 'b:b' must be non-empty without ':', '[', ']', '/' or spaces"},
            {R"({"peers":{"bob":"h:0"}})",
             "config: 'peers.bob': invalid port '0' in 'h:0' (expected 1-65535)"},
            {R"({"name":")" + std::string(65, 'n') + "\"}",
             "config: 'name' is longer than 64 bytes"},
            {R"({"transfer":4})", "config: 'transfer' must be an object"},
            {R"({"transfer":{"workers":0}})",
             "config: 'transfer.workers' must be between 2 and 64, got 0 (one worker is kept for "
             "receiving, so at least 2)"},
            {R"({"transfer":{"workers":1}})",
             "config: 'transfer.workers' must be between 2 and 64, got 1 (one worker is kept for "
             "receiving, so at least 2)"},
            {R"({"transfer":{"workers":65}})",
             "config: 'transfer.workers' must be between 2 and 64, got 65 (one worker is kept for "
             "receiving, so at least 2)"},
            {R"({"transfer":{"wrokers":2}})", "config: unknown key 'transfer.wrokers'"},
            {R"({"transfer":{"accept":"maybe"}})",
             "config: 'transfer.accept' must be ask, trusted or all; got 'maybe'"},
            {R"({"transfer":{"trusted":"bob"}})",
             "config: 'transfer.trusted' must be a list of peers"},
            {R"({"transfer":{"download_dir":"rel/dir"}})",
             "config: 'transfer.download_dir' must be an absolute path"},
            {R"({"transfer":{"max_bytes":-1}})",
             "config: 'transfer.max_bytes' must be between 0 and 9223372036854775807, got -1"},
            {R"({"transfer":{"max_rate":"fast"}})",
             "config: 'transfer.max_rate' must be an integer"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.json);
            CHECK_THROWS_WITH_AS(parse_config(c.json), c.error.c_str(), ConfigError);
        }
    }

    TEST_CASE("a missing file is named") {
        CHECK_THROWS_WITH_AS(load_config_file("/nonexistent/chatd.json"),
                             "config: cannot read '/nonexistent/chatd.json'", ConfigError);
    }

    TEST_CASE("a peer spec names an alias's address, or itself") {
        Config config;
        config.peers = {{"alice", "10.0.0.5:7890"}, {"bob", "[::1]:7000"}};
        struct Row {
            const char* spec;
            const char* address;
        };
        for (const Row row :
             {Row{"alice", "10.0.0.5:7890"}, Row{"bob", "[::1]:7000"},
              Row{"10.0.0.9:1", "10.0.0.9:1"}, Row{"Alice", "Alice"}, Row{"", ""}}) {
            CAPTURE(row.spec);
            CHECK(peer_address(config, row.spec) == row.address);
        }
    }
}
