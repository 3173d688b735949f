#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "address.hpp"

using namespace chat;

TEST_SUITE("address") {
    TEST_CASE("accepted forms") {
        struct Case {
            std::string text, host;
            std::uint16_t port;
        };
        const Case cases[] = {
            {"10.0.0.5:7890", "10.0.0.5", 7890},  {"10.0.0.5", "10.0.0.5", kDefaultPort},
            {"bob.lan:1", "bob.lan", 1},          {"localhost", "localhost", kDefaultPort},
            {"[::1]:7891", "::1", 7891},          {"[fe80::1%eth0]:9", "fe80::1%eth0", 9},
            {"[::1]", "::1", kDefaultPort},       {"::1", "::1", kDefaultPort},
            {"fd00::5", "fd00::5", kDefaultPort}, {"127.0.0.1:65535", "127.0.0.1", 65535},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            const HostPort hp = parse_host_port(c.text);
            CHECK(hp.host == c.host);
            CHECK(hp.port == c.port);
        }
    }

    TEST_CASE("refused forms, with the message") {
        struct Case {
            std::string text, error;
        };
        const Case cases[] = {
            {"", "missing host in ''"},
            {":7890", "missing host in ':7890'"},
            {"host:", "invalid port '' in 'host:' (expected 1-65535)"},
            {"host:0", "invalid port '0' in 'host:0' (expected 1-65535)"},
            {"host:65536", "invalid port '65536' in 'host:65536' (expected 1-65535)"},
            {"host:12ab", "invalid port '12ab' in 'host:12ab' (expected 1-65535)"},
            {"host:-1", "invalid port '-1' in 'host:-1' (expected 1-65535)"},
            {"[::1", "missing ']' in '[::1'"},
            {"[::1]7890", "expected ':PORT' after ']' in '[::1]7890'"},
            {"[1.2.3.4]:5", "brackets are for IPv6 addresses, in '[1.2.3.4]:5'"},
            {"bad host:1", "invalid character in host 'bad host'"},
            {"a/b", "invalid character in host 'a/b'"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.text);
            CHECK_THROWS_WITH_AS(parse_host_port(c.text), c.error.c_str(), std::invalid_argument);
        }
    }

    TEST_CASE("port 0 only where asked for") {
        CHECK(parse_host_port("127.0.0.1:0", true).port == 0);
        CHECK_THROWS_AS(parse_host_port("127.0.0.1:0"), std::invalid_argument);
    }

    TEST_CASE("format reads back") {
        CHECK(format_host_port("1.2.3.4", 5) == "1.2.3.4:5");
        CHECK(format_host_port("::1", 7890) == "[::1]:7890");
        CHECK(parse_host_port(format_host_port("::1", 7890)) == HostPort{"::1", 7890});
    }

    TEST_CASE("what a numeric address names") {
        struct Case {
            std::string host;
            std::optional<AddressKind> kind;
        };
        const auto host = AddressKind::single_host;
        const Case cases[] = {
            {"127.0.0.1", host},
            {"10.0.0.255", host},  // a subnet's broadcast only with its netmask
            {"192.168.1.255", host},
            {"255.255.255.254", host},
            {"223.255.255.255", host},
            {"240.0.0.1", host},
            {"::1", host},
            {"fe80::1", host},
            {"fd00::ff", host},
            {"0.0.0.0", AddressKind::unspecified},
            {"::", AddressKind::unspecified},
            {"0:0:0:0:0:0:0:0", AddressKind::unspecified},
            {"::ffff:0.0.0.0", AddressKind::unspecified},
            {"255.255.255.255", AddressKind::limited_broadcast},
            {"::ffff:255.255.255.255", AddressKind::limited_broadcast},
            {"224.0.0.1", AddressKind::multicast},
            {"239.255.255.250", AddressKind::multicast},
            {"::ffff:224.0.0.251", AddressKind::multicast},
            {"ff02::1", AddressKind::multicast},
            {"ff05::1:3", AddressKind::multicast},
            {"localhost", std::nullopt},
            {"1.2.3", std::nullopt},
            {"", std::nullopt},
        };
        for (const auto& c : cases) {
            CAPTURE(c.host);
            CHECK(classify_address(c.host) == c.kind);
        }
        CHECK(describe(AddressKind::unspecified) == "the unspecified address");
        CHECK(describe(AddressKind::limited_broadcast) == "the broadcast address");
        CHECK(describe(AddressKind::multicast) == "a multicast address");
    }

    TEST_CASE("an interface's broadcast address is known by the interface it belongs to") {
        const std::vector<InterfaceBroadcast> local{{"eth0", "10.0.0.255"},
                                                    {"wlan0", "192.168.1.255"}};
        struct Case {
            const char* host;
            std::optional<std::string> interface;
        };
        const Case cases[] = {
            {"10.0.0.255", "eth0"},        {"192.168.1.255", "wlan0"},
            {"::ffff:10.0.0.255", "eth0"},  // judged as its IPv4 address
            {"10.0.0.254", std::nullopt},  {"10.0.1.255", std::nullopt},
            {"127.0.0.1", std::nullopt},   {"::1", std::nullopt},
            {"localhost", std::nullopt},   {"", std::nullopt},
        };
        for (const auto& c : cases) {
            CAPTURE(c.host);
            CHECK(broadcast_interface(c.host, local) == c.interface);
        }
        CHECK(broadcast_interface("10.0.0.255", {}) == std::nullopt);
        CHECK(describe_broadcast_of("eth0") == "the broadcast address of eth0");
    }
}
