#pragma once
// Peer and listen addresses as users write them: HOST:PORT, [IPv6]:PORT,
// HOST (default port) or a bare IPv6 literal. Pure parsing, no lookups.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

inline constexpr std::uint16_t kDefaultPort = 7890;

struct HostPort {
    std::string host;  // without brackets
    std::uint16_t port = kDefaultPort;

    bool operator==(const HostPort&) const = default;
};

// Throws std::invalid_argument with a message that says what is wrong.
// allow_port_zero is for listen addresses, where 0 asks for any free port.
HostPort parse_host_port(std::string_view text, bool allow_port_zero = false);

// "1.2.3.4:7890" or "[::1]:7890": the form parse_host_port reads back.
std::string format_host_port(std::string_view host, std::uint16_t port);

// What a numeric address names, as far as it is certain from the address
// alone (a subnet's broadcast address, x.y.z.255, depends on the netmask).
enum class AddressKind {
    single_host,
    unspecified,        // 0.0.0.0, ::
    limited_broadcast,  // 255.255.255.255
    multicast,          // 224.0.0.0/4, ff00::/8
};
// An IPv4-mapped IPv6 address is judged as its IPv4 address; text that is
// not a numeric address is nullopt.
std::optional<AddressKind> classify_address(std::string_view numeric_host);
// "the unspecified address", "the broadcast address", "a multicast address".
std::string describe(AddressKind kind);

// A local interface's IPv4 broadcast address (from getifaddrs, in chatd).
struct InterfaceBroadcast {
    std::string interface;  // "eth0"
    std::string address;    // numeric, "10.0.0.255"
};
// The interface whose broadcast address `numeric_host` is (an IPv4-mapped
// IPv6 address judged as its IPv4 address), or nullopt: a subnet's
// broadcast address is known only with the interfaces' netmasks.
std::optional<std::string> broadcast_interface(std::string_view numeric_host,
                                               const std::vector<InterfaceBroadcast>& broadcasts);
// "the broadcast address of eth0".
std::string describe_broadcast_of(const std::string& interface);

}  // namespace chat
