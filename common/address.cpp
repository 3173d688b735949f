#include "address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace chat {
namespace {

std::uint16_t parse_port(std::string_view text, std::string_view whole, bool allow_zero) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535 ||
        (value == 0 && !allow_zero)) {
        throw std::invalid_argument("invalid port '" + std::string(text) + "' in '" +
                                    std::string(whole) + "' (expected 1-65535)");
    }
    return static_cast<std::uint16_t>(value);
}

void check_host(std::string_view host, std::string_view whole) {
    if (host.empty()) throw std::invalid_argument("missing host in '" + std::string(whole) + "'");
    if (host.size() > 253)
        throw std::invalid_argument("host name too long in '" + std::string(whole) + "'");
    for (const char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' ||
                        c == '%';
        if (!ok) {
            throw std::invalid_argument("invalid character in host '" + std::string(host) + "'");
        }
    }
}

}  // namespace

HostPort parse_host_port(std::string_view text, bool allow_port_zero) {
    HostPort result;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            throw std::invalid_argument("missing ']' in '" + std::string(text) + "'");
        }
        result.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (!rest.starts_with(':')) {
                throw std::invalid_argument("expected ':PORT' after ']' in '" + std::string(text) +
                                            "'");
            }
            result.port = parse_port(rest.substr(1), text, allow_port_zero);
        }
        if (result.host.find(':') == std::string::npos) {
            throw std::invalid_argument("brackets are for IPv6 addresses, in '" +
                                        std::string(text) + "'");
        }
    } else if (const auto colon = text.rfind(':'); colon == std::string_view::npos) {
        result.host = std::string(text);
    } else if (text.find(':') != colon) {
        result.host = std::string(text);  // bare IPv6 literal, default port
    } else {
        result.host = std::string(text.substr(0, colon));
        result.port = parse_port(text.substr(colon + 1), text, allow_port_zero);
    }
    check_host(result.host, text);
    return result;
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string_view::npos;
    std::string out;
    if (v6) out += '[';
    out += host;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

namespace {

// The IPv4 address of `host`, also when written IPv4-mapped; nullopt if none.
std::optional<std::array<unsigned char, 4>> ipv4_of(const std::string& host) {
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1)
        return std::array<unsigned char, 4>{bytes[0], bytes[1], bytes[2], bytes[3]};
    if (inet_pton(AF_INET6, host.c_str(), bytes.data()) != 1) return std::nullopt;
    const std::array<unsigned char, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!std::equal(mapped_prefix.begin(), mapped_prefix.end(), bytes.begin())) return std::nullopt;
    return std::array<unsigned char, 4>{bytes[12], bytes[13], bytes[14], bytes[15]};
}

AddressKind classify_v4(const unsigned char* octets) {
    if (octets[0] == 0 && octets[1] == 0 && octets[2] == 0 && octets[3] == 0)
        return AddressKind::unspecified;
    if (octets[0] == 255 && octets[1] == 255 && octets[2] == 255 && octets[3] == 255)
        return AddressKind::limited_broadcast;
    if ((octets[0] & 0xf0) == 224) return AddressKind::multicast;
    return AddressKind::single_host;
}

}  // namespace

std::optional<AddressKind> classify_address(std::string_view numeric_host) {
    const std::string host(numeric_host);
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) return classify_v4(bytes.data());
    if (inet_pton(AF_INET6, host.c_str(), bytes.data()) != 1) return std::nullopt;
    const std::array<unsigned char, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped_prefix.begin(), mapped_prefix.end(), bytes.begin()))
        return classify_v4(bytes.data() + 12);
    if (bytes[0] == 0xff) return AddressKind::multicast;
    for (const unsigned char b : bytes) {
        if (b != 0) return AddressKind::single_host;
    }
    return AddressKind::unspecified;
}

std::optional<std::string> broadcast_interface(std::string_view numeric_host,
                                               const std::vector<InterfaceBroadcast>& broadcasts) {
    const auto target = ipv4_of(std::string(numeric_host));
    if (!target) return std::nullopt;
    for (const auto& b : broadcasts) {
        if (ipv4_of(b.address) == target) return b.interface;
    }
    return std::nullopt;
}

std::string describe_broadcast_of(const std::string& interface) {
    return "the broadcast address of " + interface;
}

std::string describe(AddressKind kind) {
    switch (kind) {
        case AddressKind::single_host:
            return "a single host";
        case AddressKind::unspecified:
            return "the unspecified address";
        case AddressKind::limited_broadcast:
            return "the broadcast address";
        case AddressKind::multicast:
            return "a multicast address";
    }
    return "an address";
}

}  // namespace chat
