#include "config_reload.hpp"

#include <nlohmann/json.hpp>

namespace chat {

ReloadChanges diff_for_reload(const Config& running, Config& fresh) {
    ReloadChanges changes;
    const auto keep = [&](auto& fresh_value, const auto& running_value, const char* key) {
        if (fresh_value == running_value) return;
        changes.need_restart.emplace_back(key);
        fresh_value = running_value;
    };
    keep(fresh.listen, running.listen, "listen");
    keep(fresh.socket, running.socket, "socket");
    keep(fresh.socket_group, running.socket_group, "socket_group");
    keep(fresh.state_dir, running.state_dir, "state_dir");
    keep(fresh.name, running.name, "name");
    keep(fresh.max_datagram_bytes, running.max_datagram_bytes, "max_datagram_bytes");
    keep(fresh.transfer.workers, running.transfer.workers, "transfer.workers");
    // Compared as the config file writes them: every key, one level of
    // nesting (transfer, security), without a comparison per field kept by
    // hand. The security policies apply on reload: the daemon republishes
    // its pins with them.
    auto before = nlohmann::json::parse(config_to_json(running));
    const auto after = nlohmann::json::parse(config_to_json(fresh));
    for (const auto& [key, value] : after.items()) {
        if (value.is_object() && key != "peers") {
            for (const auto& [sub, v] : value.items()) {
                if (before[key][sub] != v) changes.changed.push_back(key + "." + sub);
            }
        } else if (before[key] != value) {
            changes.changed.push_back(key);
        }
    }
    return changes;
}

std::string join_keys(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
}

}  // namespace chat
