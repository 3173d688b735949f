#pragma once
// chatd's configuration: the JSON file, then command-line flags on top.
// Every key has a default here, and config/chatd.json shows them all.
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "trust.hpp"

namespace chat {

struct Config {
    std::string listen = "0.0.0.0:7890";
    std::string socket;        // empty: see default_socket_path()
    std::string socket_group;  // empty: socket mode 0600; else 0660 and this group
    std::string state_dir;     // empty: see default_state_dir()
    std::string name;          // empty: the host name
    std::string log_level = "info";
    std::map<std::string, std::string> peers;  // alias -> HOST[:PORT]
    std::int64_t outbox_ttl_seconds = 86400;
    std::int64_t retry_initial_ms = 500;
    std::int64_t retry_max_ms = 30000;
    std::size_t max_datagram_bytes = 65507;
    struct Transfer {
        std::string accept = "ask";        // ask, trusted or all
        std::vector<std::string> trusted;  // hosts or aliases auto-accepted under "trusted"
        std::string download_dir;          // empty: <state_dir>/incoming
        std::uint64_t max_bytes = 0;       // per transfer; 0: no limit
        std::uint64_t max_rate = 0;        // bytes per second each outgoing transfer may send
        std::int64_t offer_ttl_seconds = 3600;
        std::size_t workers = 6;  // worker processes
    } transfer;
    struct Security {
        // tofu: a first key seen is pinned; verified: only keys pinned with `trust`.
        AcceptNewPeers accept_new_peers = AcceptNewPeers::tofu;
        // allow: plain-text peers are shown (unauthenticated); deny: dropped.
        PlainPeers plain_peers = PlainPeers::allow;
        bool operator==(const Security&) const = default;
    } security;
};

// The error names the key (or flag) and what is wrong with it.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses and validates a config document. Unknown keys are errors.
Config parse_config(std::string_view json_text);
Config load_config_file(const std::string& path);

// Checks values, e.g. after flags were applied on top of a file.
void validate_config(const Config& config);

// The same keys and defaults as parse_config("{}"), as pretty JSON.
std::string default_config_json();
// Every key of `config`, as the config file would have it (indented JSON).
std::string config_to_json(const Config& config);

// What a peer spec names: the address of an alias from `peers`, else the
// spec itself (HOST:PORT, [IPv6]:PORT or HOST, parsed by the caller).
std::string peer_address(const Config& config, const std::string& spec);

inline constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};

}  // namespace chat
