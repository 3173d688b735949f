#include "address.hpp"

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

}  // namespace chat
