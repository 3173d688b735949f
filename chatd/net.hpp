#pragma once
// Socket addresses: numeric parsing, canonical "ip:port" keys, and the
// IPv4/IPv6 family rules of one bound UDP socket.
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>

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

// Makes `to` sendable from a socket of `socket_family` (maps IPv4 into an
// IPv6 socket); nullopt when it cannot be (IPv6 peer, IPv4 socket).
std::optional<Endpoint> for_socket_family(const Endpoint& to, int socket_family);

}  // namespace chat
