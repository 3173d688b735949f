// chatd: the daemon's entry point. Parses flags over the config file, sets
// up the logger and signals, and runs the control thread's event loop.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>

#include "config.hpp"
#include "daemon.hpp"
#include "fd_passing.hpp"
#include "heap.hpp"
#include "identity.hpp"
#include "paths.hpp"
#include "worker.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// A tree of this many files is received without growing the descriptor
// table under threads (512 KiB of kernel memory; larger ones still work).
constexpr std::size_t kReservedDescriptors = 65536;

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto log = std::make_shared<spdlog::logger>("chatd", sink);
    // journald adds its own timestamps.
    log->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l: %v" : "%Y-%m-%d %H:%M:%S.%e %l: %v");
    log->set_level(spdlog::level::from_str(level));
    log->flush_on(spdlog::level::trace);
    return log;
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "chatd";
    return std::string(name).substr(0, 64);
}

// `chatd --worker FD`: this binary started again as a worker process.
bool is_worker_mode(int argc, char** argv) {
    return argc == 3 && std::string_view(argv[1]) == "--worker";
}

int run_as_worker(const char* channel_fd) {
    std::signal(SIGINT, SIG_IGN);  // the daemon stops its workers, not the terminal
    std::signal(SIGPIPE, SIG_IGN);
    return chat::run_worker(std::atoi(channel_fd));
}

// What the command line says; each flag given overrides its config key.
struct Flags {
    std::string config_path;
    std::optional<std::string> listen, socket, socket_group, state_dir, name, log_level;
    bool print_config = false;
};

void add_flags(CLI::App& app, Flags& flags) {
    app.set_version_flag("--version", std::string("chatd ") + CHAT_VERSION);
    app.add_option("-c,--config", flags.config_path,
                   "JSON config file (every key: config/chatd.json)")
        ->check(CLI::ExistingFile);
    app.add_option("-l,--listen", flags.listen,
                   "UDP address to bind, HOST:PORT or [IPv6]:PORT (default 0.0.0.0:7890)");
    app.add_option("-s,--socket", flags.socket,
                   "control socket path (default $CHATD_SOCKET, $RUNTIME_DIRECTORY/chatd.sock,\n"
                   "$XDG_RUNTIME_DIR/chatd.sock or /tmp/chatd-$UID/chatd.sock)");
    app.add_option("--socket-group", flags.socket_group,
                   "group that may use the control socket (mode 0660); default: owner only");
    app.add_option("--state-dir", flags.state_dir,
                   "directory for the message store (default $STATE_DIRECTORY,\n"
                   "$XDG_STATE_HOME/chatd or ~/.local/state/chatd)");
    app.add_option("-n,--name", flags.name, "name shown to peers (default: the host name)");
    app.add_option("--log-level", flags.log_level,
                   "trace, debug, info, warn, error, critical or off");
    app.add_flag("--print-default-config", flags.print_config,
                 "print every config key with its default and exit");
}

// Parses the command line into `flags`; an exit code when chatd should stop
// here (help, version, a usage error, --print-default-config).
std::optional<int> parse_flags(int argc, char** argv, Flags& flags) {
    CLI::App app{
        "chatd: peer-to-peer LAN chat daemon.\n"
        "Listens for messages on a UDP port (default 7890) and serves chatcli on a\n"
        "local control socket. Flags override the JSON config file."};
    add_flags(app, flags);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kExitOk : kExitUsage;
    }
    if (flags.print_config) {
        std::cout << chat::default_config_json();
        return kExitOk;
    }
    return std::nullopt;
}

// The file, then the flags over it: at start and again on SIGHUP.
chat::Config load_config(const Flags& flags) {
    chat::Config config =
        flags.config_path.empty() ? chat::Config{} : chat::load_config_file(flags.config_path);
    if (flags.listen) config.listen = *flags.listen;
    if (flags.socket) config.socket = *flags.socket;
    if (flags.socket_group) config.socket_group = *flags.socket_group;
    if (flags.state_dir) config.state_dir = *flags.state_dir;
    if (flags.name) config.name = *flags.name;
    if (flags.log_level) config.log_level = *flags.log_level;
    chat::validate_config(config);
    return config;
}

// The socket and state paths from the config, or their defaults.
void resolve_paths(const chat::EnvLookup& env, chat::DaemonSettings& settings) {
    const unsigned uid = ::getuid();
    settings.socket_path = settings.config.socket.empty() ? chat::default_socket_path(env, uid)
                                                          : settings.config.socket;
    settings.state_dir = settings.config.state_dir.empty() ? chat::default_state_dir(env, uid)
                                                           : settings.config.state_dir;
    settings.default_socket_path =
        settings.config.socket.empty() && env("CHATD_SOCKET").value_or("").empty();
    settings.default_state_dir = settings.config.state_dir.empty();
}

// Paths the user gave are checked before anything is created: the first
// problem found, or "".
std::string given_path_problem(const chat::DaemonSettings& settings) {
    for (const std::string& problem :
         {settings.default_socket_path ? "" : chat::given_socket_path_problem(settings.socket_path),
          settings.default_state_dir ? "" : chat::given_state_dir_problem(settings.state_dir)}) {
        if (!problem.empty()) return problem;
    }
    return "";
}

std::string worker_executable(const char* argv0) {
    std::error_code exe_error;
    std::string path = std::filesystem::read_symlink("/proc/self/exe", exe_error).string();
    return exe_error ? std::string(argv0) : path;
}

// Everything the daemon needs from the flags, the config and the
// environment; an exit code when they are unusable.
std::optional<int> make_settings(Flags flags, const char* argv0, chat::DaemonSettings& settings) {
    const auto env = chat::process_env();
    // Under systemd, ConfigurationDirectory= says where the config is.
    if (flags.config_path.empty()) {
        if (auto path = chat::service_config_path(env); path && std::filesystem::exists(*path))
            flags.config_path = *path;
    }
    try {
        settings.config = load_config(flags);
    } catch (const chat::ConfigError& e) {
        std::cerr << "chatd: " << e.what() << "\n";
        return kExitUsage;
    }
    settings.load_config = [flags] { return load_config(flags); };
    settings.service = chat::service_environment(env, static_cast<long>(::getpid()));
    settings.test_hooks = env("CHATD_TEST_HOOKS") == std::optional<std::string>("1");
    resolve_paths(env, settings);
    if (const std::string problem = given_path_problem(settings); !problem.empty()) {
        std::cerr << "chatd: " << problem << "\n";
        return kExitUsage;
    }
    settings.name = settings.config.name.empty() ? host_name() : settings.config.name;
    settings.worker_executable = worker_executable(argv0);
    return std::nullopt;
}

// Runs the daemon until SIGINT or SIGTERM; SIGHUP reloads the config.
int run_daemon(chat::DaemonSettings settings, const std::shared_ptr<spdlog::logger>& log) {
    asio::io_context io;
    // The signal_set is made before any thread starts, so every thread
    // leaves these signals to it.
    asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    chat::Daemon daemon(io, std::move(settings), log);
    try {
        daemon.start();
    } catch (const std::exception& e) {
        log->critical("cannot start: {}", e.what());
        daemon.stop();
        // A key file to fix by hand is a setup problem, as a bad config is.
        return dynamic_cast<const chat::IdentityError*>(&e) ? kExitUsage : kExitFailure;
    }

    std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec,
                                                                      int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
            log->info("SIGHUP: reloading the configuration");
            daemon.reload();
            signals.async_wait(on_signal);
            return;
        }
        log->info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
        daemon.stop();
        io.stop();
    };
    signals.async_wait(on_signal);
    io.run();
    daemon.stop();
    log->info("stopped");
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    // Worker mode first: a worker starts no threads and reads no config.
    if (is_worker_mode(argc, argv)) return run_as_worker(argv[2]);
    chat::tune_allocator();
    // SQLite's global memory statistics take a mutex on every allocation
    // (a tenth of the store thread under load); each Store counts its own
    // page cache instead.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    Flags flags;
    if (auto exit_code = parse_flags(argc, argv, flags)) return *exit_code;
    chat::DaemonSettings settings;
    if (auto exit_code = make_settings(std::move(flags), argv[0], settings)) return *exit_code;

    chat::raise_open_file_limit();
    chat::reserve_descriptor_table(kReservedDescriptors);
    auto log = make_logger(settings.config.log_level);
    // A control client that hangs up must not kill the daemon.
    std::signal(SIGPIPE, SIG_IGN);
    return run_daemon(std::move(settings), log);
}
