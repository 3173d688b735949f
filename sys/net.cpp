#include "net.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <cstring>

#include "address.hpp"

namespace chat {

std::optional<Endpoint> numeric_endpoint(const std::string& host, unsigned short port) {
    Endpoint e;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&e.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        e.length = sizeof(sockaddr_in);
        return e;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        e.length = sizeof(sockaddr_in6);
        return e;
    }
    return std::nullopt;
}

std::string endpoint_host(const Endpoint& e) {
    char text[INET6_ADDRSTRLEN] = {};
    if (e.family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&e.storage);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    } else if (e.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.storage);
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof text);
        } else {
            inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        }
    } else {
        return "?";
    }
    return text;
}

std::string endpoint_key(const Endpoint& e) {
    if (e.family() == AF_INET)
        return format_host_port(endpoint_host(e),
                                ntohs(reinterpret_cast<const sockaddr_in*>(&e.storage)->sin_port));
    if (e.family() == AF_INET6)
        return format_host_port(
            endpoint_host(e), ntohs(reinterpret_cast<const sockaddr_in6*>(&e.storage)->sin6_port));
    return "?";
}

namespace {

// IPv4, or IPv4 mapped into IPv6.
bool is_ipv4(const Endpoint& e) {
    if (e.family() == AF_INET) return true;
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.storage);
    return e.family() == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr);
}

// An IPv6 socket bound to :: is dual stack (IPV6_V6ONLY off); one bound to
// a mapped address speaks IPv4 only, one bound to another address IPv6 only.
bool reaches_ipv4(const Endpoint& bound) {
    if (bound.family() == AF_INET) return true;
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&bound.storage);
    return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr);
}

bool reaches_ipv6(const Endpoint& bound) {
    if (bound.family() == AF_INET) return false;
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&bound.storage);
    return !IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr);
}

}  // namespace

std::optional<Endpoint> for_socket(const Endpoint& to, const Endpoint& bound) {
    if (to.family() != AF_INET && to.family() != AF_INET6) return std::nullopt;
    if (!is_ipv4(to)) {
        if (!reaches_ipv6(bound)) return std::nullopt;
        return to;
    }
    if (!reaches_ipv4(bound)) return std::nullopt;
    if (to.family() == bound.family()) return to;
    Endpoint out;
    if (bound.family() == AF_INET6) {  // map
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&to.storage);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = v4->sin_port;
        v6->sin6_addr.s6_addr[10] = 0xff;
        v6->sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
        out.length = sizeof(sockaddr_in6);
    } else {  // unmap
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&to.storage);
        auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = v6->sin6_port;
        std::memcpy(&v4->sin_addr, &v6->sin6_addr.s6_addr[12], 4);
        out.length = sizeof(sockaddr_in);
    }
    return out;
}

std::string unreachable_family_reason(const Endpoint& to, const std::string& shown,
                                      const Endpoint& bound) {
    const bool v4_peer = is_ipv4(to);
    return std::string("cannot reach ") + (v4_peer ? "IPv4" : "IPv6") + " peer " + shown +
           " from the " + (v4_peer ? "IPv6" : "IPv4") + " address " + endpoint_key(bound) +
           "; listen on [::]:PORT to reach both";
}

std::vector<InterfaceBroadcast> local_broadcast_addresses() {
    std::vector<InterfaceBroadcast> found;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return found;
    for (const ifaddrs* i = list; i; i = i->ifa_next) {
        if (!(i->ifa_flags & IFF_BROADCAST) || !i->ifa_broadaddr || !i->ifa_addr ||
            i->ifa_addr->sa_family != AF_INET || i->ifa_broadaddr->sa_family != AF_INET)
            continue;
        char text[INET_ADDRSTRLEN] = {};
        const auto* b = reinterpret_cast<const sockaddr_in*>(i->ifa_broadaddr);
        if (inet_ntop(AF_INET, &b->sin_addr, text, sizeof text))
            found.push_back({i->ifa_name, text});
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace chat
