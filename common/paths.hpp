#pragma once
// Where the control socket and the state live when nothing says otherwise.
// The environment is passed in, so the rules are testable without setenv.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment, for main().
EnvLookup process_env();

// $CHATD_SOCKET, else $RUNTIME_DIRECTORY/chatd.sock (systemd), else
// $XDG_RUNTIME_DIR/chatd.sock, else /tmp/chatd-$UID/chatd.sock.
std::string default_socket_path(const EnvLookup& env, unsigned uid);

// Where chatcli looks, in order: $CHATD_SOCKET alone if set; else the
// per-user places above, then the system service's /run/chatd/chatd.sock.
std::vector<std::string> client_socket_candidates(const EnvLookup& env, unsigned uid);

// $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/chatd, else
// $HOME/.local/state/chatd, else /tmp/chatd-$UID/state.
std::string default_state_dir(const EnvLookup& env, unsigned uid);

// A control socket or state directory the user named (a flag, the config or
// $CHATD_SOCKET) gets no directory made for it, except the state directory
// itself when its parent exists. What is wrong with using it, or "" if
// nothing is (the filesystem is looked at, nothing is created).
std::string given_socket_path_problem(const std::string& socket_path);
std::string given_state_dir_problem(const std::string& state_dir);

// $CONFIGURATION_DIRECTORY/chatd.json (systemd's ConfigurationDirectory=),
// used when no --config is given; nullopt outside systemd.
std::optional<std::string> service_config_path(const EnvLookup& env);

// What systemd asks of a Type=notify service, read from its environment.
struct ServiceEnvironment {
    std::string notify_socket;              // a path, or "@name" (abstract); empty: do not notify
    std::chrono::microseconds watchdog{0};  // ping at least this often; 0: no watchdog
    bool operator==(const ServiceEnvironment&) const = default;
};

// NOTIFY_SOCKET must be absolute or abstract; WATCHDOG_USEC applies only if
// WATCHDOG_PID is unset or is `pid` (a child must not ping for its parent).
ServiceEnvironment service_environment(const EnvLookup& env, long pid);

}  // namespace chat
