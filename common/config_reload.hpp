#pragma once
// What a reload (SIGHUP) may change: the keys the sockets, the store and
// the workers were built with stay until a restart; the rest take effect.
// Pure; the daemon applies the result on the control thread.
#include <string>
#include <vector>

#include "config.hpp"

namespace chat {

struct ReloadChanges {
    std::vector<std::string> changed;       // keys that take the new value ("transfer.x")
    std::vector<std::string> need_restart;  // keys whose new value waits for a restart
};

// Puts the running value back into `fresh` for every key that cannot
// change while running, and names what differs.
ReloadChanges diff_for_reload(const Config& running, Config& fresh);

// "a, b, c", for the log.
std::string join_keys(const std::vector<std::string>& keys);

}  // namespace chat
