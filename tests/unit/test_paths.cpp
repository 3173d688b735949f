#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "paths.hpp"
#include "temp_dir.hpp"

using namespace chat;

namespace {
EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}
}  // namespace

TEST_SUITE("paths") {
    TEST_CASE("daemon socket: first rule that applies wins") {
        struct Case {
            std::map<std::string, std::string> env;
            std::string path;
        };
        const Case cases[] = {
            {{}, "/tmp/chatd-1000/chatd.sock"},
            {{{"XDG_RUNTIME_DIR", "/run/user/1000"}}, "/run/user/1000/chatd.sock"},
            {{{"XDG_RUNTIME_DIR", "/run/user/1000"}, {"RUNTIME_DIRECTORY", "/run/chatd"}},
             "/run/chatd/chatd.sock"},
            {{{"RUNTIME_DIRECTORY", "/run/chatd:/run/other"}}, "/run/chatd/chatd.sock"},
            {{{"CHATD_SOCKET", "/x/y.sock"}, {"RUNTIME_DIRECTORY", "/run/chatd"}}, "/x/y.sock"},
            {{{"CHATD_SOCKET", ""}, {"XDG_RUNTIME_DIR", ""}}, "/tmp/chatd-1000/chatd.sock"},
        };
        for (const auto& c : cases) {
            CHECK(default_socket_path(env_of(c.env), 1000) == c.path);
        }
    }

    TEST_CASE("client candidates") {
        CHECK(client_socket_candidates(env_of({{"CHATD_SOCKET", "/s"}}), 0) ==
              std::vector<std::string>{"/s"});
        CHECK(client_socket_candidates(env_of({{"XDG_RUNTIME_DIR", "/run/user/5"}}), 5) ==
              std::vector<std::string>{"/run/user/5/chatd.sock", "/tmp/chatd-5/chatd.sock",
                                       "/run/chatd/chatd.sock"});
        CHECK(client_socket_candidates(env_of({}), 0) ==
              std::vector<std::string>{"/tmp/chatd-0/chatd.sock", "/run/chatd/chatd.sock"});
    }

    TEST_CASE("state directory") {
        struct Case {
            std::map<std::string, std::string> env;
            std::string dir;
        };
        const Case cases[] = {
            {{}, "/tmp/chatd-7/state"},
            {{{"HOME", "/home/a"}}, "/home/a/.local/state/chatd"},
            {{{"HOME", "/home/a"}, {"XDG_STATE_HOME", "/st"}}, "/st/chatd"},
            {{{"XDG_STATE_HOME", "/st"}, {"STATE_DIRECTORY", "/var/lib/chatd"}}, "/var/lib/chatd"},
        };
        for (const auto& c : cases) CHECK(default_state_dir(env_of(c.env), 7) == c.dir);
    }

    TEST_CASE("config under systemd") {
        CHECK(service_config_path(env_of({})) == std::nullopt);
        CHECK(service_config_path(env_of({{"CONFIGURATION_DIRECTORY", "/etc/chatd:/etc/x"}})) ==
              "/etc/chatd/chatd.json");
    }

    TEST_CASE("what systemd asks: notify socket and watchdog") {
        using std::chrono::microseconds;
        struct Case {
            std::map<std::string, std::string> env;
            ServiceEnvironment expected;
        };
        const Case cases[] = {
            {{}, {"", microseconds(0)}},
            {{{"NOTIFY_SOCKET", "/run/systemd/notify"}}, {"/run/systemd/notify", microseconds(0)}},
            {{{"NOTIFY_SOCKET", "@abstract"}}, {"@abstract", microseconds(0)}},
            {{{"NOTIFY_SOCKET", "relative/path"}}, {"", microseconds(0)}},
            {{{"NOTIFY_SOCKET", "@"}}, {"", microseconds(0)}},
            {{{"WATCHDOG_USEC", "30000000"}}, {"", microseconds(30'000'000)}},
            {{{"WATCHDOG_USEC", "30000000"}, {"WATCHDOG_PID", "42"}},
             {"", microseconds(30'000'000)}},
            {{{"WATCHDOG_USEC", "30000000"}, {"WATCHDOG_PID", "43"}}, {"", microseconds(0)}},
            {{{"WATCHDOG_USEC", "0"}}, {"", microseconds(0)}},
            {{{"WATCHDOG_USEC", "-5"}}, {"", microseconds(0)}},
            {{{"WATCHDOG_USEC", "12abc"}}, {"", microseconds(0)}},
        };
        for (const auto& c : cases) {
            CAPTURE(c.expected.notify_socket);
            CHECK(service_environment(env_of(c.env), 42) == c.expected);
        }
    }

    TEST_CASE("a socket or state directory the user gave needs an existing parent") {
        const test::TempDir temp("chat-paths");
        const std::string dir = temp.path.string();
        std::ofstream(dir + "/file") << "x";
        struct Case {
            std::string path, socket_problem, state_problem;
        };
        const std::string missing = dir + "/missing";
        const Case cases[] = {
            {dir + "/x.sock", "", ""},
            {dir + "/x/", "", ""},
            {"relative.sock", "", ""},
            {missing + "/x.sock",
             "cannot use control socket " + missing + "/x.sock: directory " + missing +
                 " does not exist (chatd creates only its default "
                 "directories)",
             "cannot use state directory " + missing + "/x.sock: directory " + missing +
                 " does not exist (chatd creates a given state directory, not its parents)"},
            {dir + "/file/x",
             "cannot use control socket " + dir + "/file/x: " + dir +
                 "/file is not a directory (chatd creates only its default directories)",
             "cannot use state directory " + dir + "/file/x: " + dir +
                 "/file is not a directory (chatd creates a given state directory, not its "
                 "parents)"},
            {dir + "/file", "", "cannot use state directory " + dir + "/file: not a directory"},
            {dir, "", ""},
        };
        for (const auto& c : cases) {
            CAPTURE(c.path);
            CHECK(given_socket_path_problem(c.path) == c.socket_problem);
            CHECK(given_state_dir_problem(c.path) == c.state_problem);
        }
        CHECK_FALSE(std::filesystem::exists(missing));  // looked at, not made
        std::filesystem::remove_all(dir);
    }
}
