#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "address.hpp"
#include "envelope.hpp"

namespace chat {
namespace {

using nlohmann::json;

std::string in_quotes(std::string_view key) { return "'" + std::string(key) + "'"; }

std::string get_string(const json& value, std::string_view key) {
    if (!value.is_string()) throw ConfigError("config: " + in_quotes(key) + " must be a string");
    return value.get<std::string>();
}

std::int64_t get_int(const json& value, std::string_view key) {
    if (!value.is_number_integer())
        throw ConfigError("config: " + in_quotes(key) + " must be an integer");
    return value.get<std::int64_t>();
}

void check_range(std::string_view key, std::int64_t value, std::int64_t min, std::int64_t max) {
    if (value < min || value > max) {
        throw ConfigError("config: " + in_quotes(key) + " must be between " + std::to_string(min) +
                          " and " + std::to_string(max) + ", got " + std::to_string(value));
    }
}

// Sending holds at most all workers but one, so a transfer to this daemon
// (or a crossed one) never waits for a free worker: one worker cannot work.
constexpr std::int64_t kMinWorkers = 2;
constexpr std::int64_t kMaxWorkers = 64;

void check_workers(std::int64_t workers) {
    if (workers < kMinWorkers || workers > kMaxWorkers) {
        throw ConfigError("config: 'transfer.workers' must be between " +
                          std::to_string(kMinWorkers) + " and " + std::to_string(kMaxWorkers) +
                          ", got " + std::to_string(workers) +
                          " (one worker is kept for receiving, so at least 2)");
    }
}

void parse_transfer(const json& section, Config::Transfer& transfer) {
    if (!section.is_object()) throw ConfigError("config: 'transfer' must be an object");
    for (const auto& [key, value] : section.items()) {
        const std::string name = "transfer." + key;
        if (key == "workers") {
            const auto workers = get_int(value, name);
            check_workers(workers);
            transfer.workers = static_cast<std::size_t>(workers);
        } else if (key == "accept") {
            transfer.accept = get_string(value, name);
        } else if (key == "trusted") {
            if (!value.is_array())
                throw ConfigError("config: 'transfer.trusted' must be a list of peers");
            transfer.trusted.clear();
            for (const auto& peer : value) transfer.trusted.push_back(get_string(peer, name));
        } else if (key == "download_dir") {
            transfer.download_dir = get_string(value, name);
        } else if (key == "max_bytes" || key == "max_rate") {
            const auto bytes = get_int(value, name);
            check_range(name, bytes, 0, std::numeric_limits<std::int64_t>::max());
            (key == "max_bytes" ? transfer.max_bytes : transfer.max_rate) =
                static_cast<std::uint64_t>(bytes);
        } else if (key == "offer_ttl_seconds") {
            transfer.offer_ttl_seconds = get_int(value, name);
        } else {
            throw ConfigError("config: unknown key " + in_quotes(name));
        }
    }
}

// A policy's value: one of its names, else an error listing them.
template <typename Policy>
Policy get_policy(const json& value, const std::string& key,
                  std::optional<Policy> (*named)(std::string_view), std::string_view choices) {
    const std::string text = get_string(value, key);
    if (const auto policy = named(text)) return *policy;
    throw ConfigError("config: " + in_quotes(key) + " must be " + std::string(choices) + "; got '" +
                      text + "'");
}

void parse_security(const json& section, Config::Security& security) {
    if (!section.is_object()) throw ConfigError("config: 'security' must be an object");
    for (const auto& [key, value] : section.items()) {
        const std::string name = "security." + key;
        if (key == "accept_new_peers") {
            security.accept_new_peers =
                get_policy(value, name, accept_new_peers_named, "tofu or verified");
        } else if (key == "plain_peers") {
            security.plain_peers = get_policy(value, name, plain_peers_named, "allow or deny");
        } else {
            throw ConfigError("config: unknown key " + in_quotes(name));
        }
    }
}

json to_json(const Config& c) {
    return json{{"listen", c.listen},
                {"socket", c.socket},
                {"socket_group", c.socket_group},
                {"state_dir", c.state_dir},
                {"name", c.name},
                {"log_level", c.log_level},
                {"peers", c.peers},
                {"outbox_ttl_seconds", c.outbox_ttl_seconds},
                {"retry_initial_ms", c.retry_initial_ms},
                {"retry_max_ms", c.retry_max_ms},
                {"max_datagram_bytes", c.max_datagram_bytes},
                {"transfer",
                 {{"accept", c.transfer.accept},
                  {"trusted", c.transfer.trusted},
                  {"download_dir", c.transfer.download_dir},
                  {"max_bytes", c.transfer.max_bytes},
                  {"max_rate", c.transfer.max_rate},
                  {"offer_ttl_seconds", c.transfer.offer_ttl_seconds},
                  {"workers", c.transfer.workers}}},
                {"security",
                 {{"accept_new_peers", accept_new_peers_name(c.security.accept_new_peers)},
                  {"plain_peers", plain_peers_name(c.security.plain_peers)}}}};
}

}  // namespace

Config parse_config(std::string_view json_text) {
    Config config;
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ConfigError(std::string("config: not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) throw ConfigError("config: the top level must be a JSON object");

    for (const auto& [key, value] : doc.items()) {
        if (key == "listen") {
            config.listen = get_string(value, key);
        } else if (key == "socket") {
            config.socket = get_string(value, key);
        } else if (key == "socket_group") {
            config.socket_group = get_string(value, key);
        } else if (key == "state_dir") {
            config.state_dir = get_string(value, key);
        } else if (key == "name") {
            config.name = get_string(value, key);
        } else if (key == "log_level") {
            config.log_level = get_string(value, key);
        } else if (key == "peers") {
            if (!value.is_object())
                throw ConfigError("config: 'peers' must be an object of alias: \"HOST:PORT\"");
            for (const auto& [alias, address] : value.items()) {
                config.peers[alias] = get_string(address, "peers." + alias);
            }
        } else if (key == "outbox_ttl_seconds") {
            config.outbox_ttl_seconds = get_int(value, key);
        } else if (key == "retry_initial_ms") {
            config.retry_initial_ms = get_int(value, key);
        } else if (key == "retry_max_ms") {
            config.retry_max_ms = get_int(value, key);
        } else if (key == "max_datagram_bytes") {
            const auto bytes = get_int(value, key);
            check_range(key, bytes, 512, static_cast<std::int64_t>(kMaxUdpPayload));
            config.max_datagram_bytes = static_cast<std::size_t>(bytes);
        } else if (key == "transfer") {
            parse_transfer(value, config.transfer);
        } else if (key == "security") {
            parse_security(value, config.security);
        } else {
            throw ConfigError("config: unknown key " + in_quotes(key));
        }
    }
    validate_config(config);
    return config;
}

void validate_config(const Config& c) {
    try {
        parse_host_port(c.listen, /*allow_port_zero=*/true);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("config: 'listen': ") + e.what());
    }
    if (std::find(std::begin(kLogLevels), std::end(kLogLevels), c.log_level) ==
        std::end(kLogLevels)) {
        throw ConfigError(
            "config: 'log_level' must be one of trace, debug, info, warn, error, "
            "critical, off; got '" +
            c.log_level + "'");
    }
    if (c.name.size() > kMaxNameBytes) {
        throw ConfigError("config: 'name' is longer than " + std::to_string(kMaxNameBytes) +
                          " bytes");
    }
    for (const auto& [alias, address] : c.peers) {
        if (alias.empty() || alias.find_first_of(":[]/ ") != std::string::npos) {
            throw ConfigError("config: peer alias '" + alias +
                              "' must be non-empty without ':', '[', ']', '/' or spaces");
        }
        try {
            parse_host_port(address);
        } catch (const std::invalid_argument& e) {
            throw ConfigError("config: 'peers." + alias + "': " + e.what());
        }
    }
    check_range("outbox_ttl_seconds", c.outbox_ttl_seconds, 1, 365LL * 86400);
    check_range("retry_initial_ms", c.retry_initial_ms, 10, 3'600'000);
    check_range("retry_max_ms", c.retry_max_ms, c.retry_initial_ms, 3'600'000);
    check_range("max_datagram_bytes", static_cast<std::int64_t>(c.max_datagram_bytes), 512,
                static_cast<std::int64_t>(kMaxUdpPayload));
    check_workers(static_cast<std::int64_t>(c.transfer.workers));
    check_range("transfer.offer_ttl_seconds", c.transfer.offer_ttl_seconds, 1, 30LL * 86400);
    if (c.transfer.accept != "ask" && c.transfer.accept != "trusted" &&
        c.transfer.accept != "all") {
        throw ConfigError("config: 'transfer.accept' must be ask, trusted or all; got '" +
                          c.transfer.accept + "'");
    }
    if (!c.transfer.download_dir.empty() && c.transfer.download_dir.front() != '/') {
        throw ConfigError("config: 'transfer.download_dir' must be an absolute path");
    }
}

Config load_config_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("config: cannot read '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return parse_config(text.str());
    } catch (const ConfigError& e) {
        throw ConfigError(path + ": " + e.what());
    }
}

std::string config_to_json(const Config& config) { return to_json(config).dump(2) + "\n"; }

std::string default_config_json() { return config_to_json(Config{}); }

std::string peer_address(const Config& config, const std::string& spec) {
    const auto alias = config.peers.find(spec);
    return alias != config.peers.end() ? alias->second : spec;
}

}  // namespace chat
