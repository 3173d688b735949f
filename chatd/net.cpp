#include "net.hpp"

#include <arpa/inet.h>

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

std::string endpoint_key(const Endpoint& e) {
    char text[INET6_ADDRSTRLEN] = {};
    if (e.family() == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&e.storage);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return format_host_port(text, ntohs(v4->sin_port));
    }
    if (e.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&e.storage);
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof text);
        } else {
            inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        }
        return format_host_port(text, ntohs(v6->sin6_port));
    }
    return "?";
}

std::optional<Endpoint> for_socket_family(const Endpoint& to, int socket_family) {
    if (to.family() == socket_family) return to;
    if (to.family() == AF_INET && socket_family == AF_INET6) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&to.storage);
        Endpoint mapped;
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&mapped.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = v4->sin_port;
        v6->sin6_addr.s6_addr[10] = 0xff;
        v6->sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
        mapped.length = sizeof(sockaddr_in6);
        return mapped;
    }
    return std::nullopt;
}

}  // namespace chat
