#include "paths.hpp"

#include <cstdlib>
#include <filesystem>

namespace chat {
namespace {

// systemd passes several directories colon-separated; the first is ours.
std::optional<std::string> first_dir(const EnvLookup& env, std::string_view name) {
    auto value = env(name);
    if (!value || value->empty()) return std::nullopt;
    return value->substr(0, value->find(':'));
}

std::string per_user_tmp(unsigned uid) { return "/tmp/chatd-" + std::to_string(uid); }

}  // namespace

EnvLookup process_env() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

std::string default_socket_path(const EnvLookup& env, unsigned uid) {
    if (auto explicit_path = env("CHATD_SOCKET"); explicit_path && !explicit_path->empty()) {
        return *explicit_path;
    }
    if (auto dir = first_dir(env, "RUNTIME_DIRECTORY")) return *dir + "/chatd.sock";
    if (auto dir = first_dir(env, "XDG_RUNTIME_DIR")) return *dir + "/chatd.sock";
    return per_user_tmp(uid) + "/chatd.sock";
}

std::vector<std::string> client_socket_candidates(const EnvLookup& env, unsigned uid) {
    if (auto explicit_path = env("CHATD_SOCKET"); explicit_path && !explicit_path->empty()) {
        return {*explicit_path};
    }
    std::vector<std::string> candidates;
    if (auto dir = first_dir(env, "XDG_RUNTIME_DIR")) candidates.push_back(*dir + "/chatd.sock");
    candidates.push_back(per_user_tmp(uid) + "/chatd.sock");
    candidates.push_back("/run/chatd/chatd.sock");
    return candidates;
}

std::string default_state_dir(const EnvLookup& env, unsigned uid) {
    if (auto dir = first_dir(env, "STATE_DIRECTORY")) return *dir;
    if (auto dir = first_dir(env, "XDG_STATE_HOME")) return *dir + "/chatd";
    if (auto home = env("HOME"); home && !home->empty()) return *home + "/.local/state/chatd";
    return per_user_tmp(uid) + "/state";
}

namespace {
namespace fs = std::filesystem;

// The directory a path is in ("." for a bare name), trailing '/' ignored.
fs::path directory_of(const std::string& path) {
    fs::path p = fs::path(path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    const fs::path dir = p.parent_path();
    return dir.empty() ? fs::path(".") : dir;
}

// "" if dir is a directory; else why not.
std::string directory_problem(const fs::path& dir) {
    std::error_code ec;
    const auto status = fs::status(dir, ec);
    if (fs::is_directory(status)) return "";
    if (fs::exists(status)) return dir.string() + " is not a directory";
    return "directory " + dir.string() + " does not exist";
}

}  // namespace

std::string given_socket_path_problem(const std::string& socket_path) {
    const std::string why = directory_problem(directory_of(socket_path));
    if (why.empty()) return "";
    return "cannot use control socket " + socket_path + ": " + why +
           " (chatd creates only its default directories)";
}

std::string given_state_dir_problem(const std::string& state_dir) {
    std::error_code ec;
    const auto status = fs::status(state_dir, ec);
    if (fs::is_directory(status)) return "";
    if (fs::exists(status)) return "cannot use state directory " + state_dir + ": not a directory";
    const std::string why = directory_problem(directory_of(state_dir));
    if (why.empty()) return "";
    return "cannot use state directory " + state_dir + ": " + why +
           " (chatd creates a given state directory, not its parents)";
}

std::optional<std::string> service_config_path(const EnvLookup& env) {
    if (auto dir = first_dir(env, "CONFIGURATION_DIRECTORY")) return *dir + "/chatd.json";
    return std::nullopt;
}

namespace {
std::optional<long long> positive_integer(const std::optional<std::string>& text) {
    if (!text || text->empty() || text->size() > 18) return std::nullopt;
    long long value = 0;
    for (const char c : *text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value > 0 ? std::optional(value) : std::nullopt;
}
}  // namespace

ServiceEnvironment service_environment(const EnvLookup& env, long pid) {
    ServiceEnvironment out;
    if (auto socket = env("NOTIFY_SOCKET");
        socket && socket->size() > 1 && (socket->front() == '/' || socket->front() == '@')) {
        out.notify_socket = *socket;
    }
    const auto usec = positive_integer(env("WATCHDOG_USEC"));
    const auto for_pid = env("WATCHDOG_PID");
    if (usec && (!for_pid || positive_integer(for_pid) == pid)) {
        out.watchdog = std::chrono::microseconds(*usec);
    }
    return out;
}

}  // namespace chat
