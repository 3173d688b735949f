#pragma once
// Socket addresses: numeric parsing, canonical "ip:port" keys, and the
// IPv4/IPv6 family rules of one bound UDP socket. Pure functions, no state.
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "address.hpp"

namespace chat {

struct Endpoint {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* addr() { return reinterpret_cast<sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
};

// A numeric IPv4 or IPv6 address and a port; nullopt if host is not numeric.
std::optional<Endpoint> numeric_endpoint(const std::string& host, unsigned short port);

// "1.2.3.4:7890" or "[::1]:7890"; IPv4-mapped IPv6 is shown as IPv4, so a
// peer has one key whichever socket family saw it.
std::string endpoint_key(const Endpoint& endpoint);

// Makes `to` sendable from a UDP or TCP socket bound to `bound`: IPv4 is
// mapped into a dual-stack IPv6 socket (bound to ::), a mapped address is
// unmapped for an IPv4 socket. nullopt when it cannot be: an IPv6 peer from
// an IPv4 socket, or an IPv4 peer from one bound to an IPv6 address.
std::optional<Endpoint> for_socket(const Endpoint& to, const Endpoint& bound);

// Why `to` cannot be reached from `bound` (for_socket gave nullopt), with
// the remedy: "cannot reach IPv6 peer [::1]:7890 from the IPv4 address ...".
std::string unreachable_family_reason(const Endpoint& to, const std::string& shown,
                                      const Endpoint& bound);

// The numeric host of an endpoint, IPv4-mapped shown as IPv4: "1.2.3.4", "::1".
std::string endpoint_host(const Endpoint& endpoint);

// The IPv4 broadcast address of each local interface that has one
// (IFF_BROADCAST), read now: interfaces come and go while chatd runs.
// Empty if getifaddrs fails.
std::vector<InterfaceBroadcast> local_broadcast_addresses();

}  // namespace chat
