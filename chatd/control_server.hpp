#pragma once
// The control socket: a Unix stream socket speaking the NDJSON protocol in
// common/control_protocol.hpp. Each connection carries one request; its
// replies are written in order through a bounded queue, so a client that
// never reads is dropped instead of growing the daemon. Runs entirely on
// the io_context's thread.
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "control_protocol.hpp"
#include "dir_access.hpp"
#include "fd_passing.hpp"

namespace spdlog {
class logger;
}

namespace chat {

// Where a request's answer goes. Use on the io thread only.
class ReplySink {
public:
    virtual ~ReplySink() = default;
    virtual void send_line(std::string line) = 0;  // line ends in '\n'
    virtual void finish() = 0;                     // close once written
    virtual bool is_open() const = 0;
    // Runs `next` once everything queued so far is written (never, if the
    // client goes away): how long results are paced to the client.
    virtual void on_drained(std::function<void()> next) = 0;
    // Takes `count` descriptors the client passes (SCM_RIGHTS) right after
    // its request; `done` gets them, or an error and none.
    virtual void receive_fds(std::size_t count,
                             std::function<void(OwnedFds fds, const std::string& error)> done) = 0;
    // Who asked: the client's ids as they were when it connected
    // (SO_PEERCRED, SO_PEERGROUPS); none if the kernel would not say.
    virtual std::optional<UserIds> client() const = 0;
};

class RequestHandler {
public:
    virtual void handle(Request request, std::shared_ptr<ReplySink> reply) = 0;

protected:
    ~RequestHandler() = default;
};

class ControlSession;

class ControlServer {
public:
    // group empty: the socket is 0600; else 0660 owned by that group.
    ControlServer(asio::io_context& io, std::string path, std::string group,
                  RequestHandler& handler, std::shared_ptr<spdlog::logger> log);
    ~ControlServer();

    // Binds the socket (replacing a stale one) in a directory that exists;
    // throws std::runtime_error.
    void start();
    // Closes the listener and every session, removes the socket file.
    void stop();

    const std::string& path() const { return path_; }
    void forget(const std::shared_ptr<ControlSession>& session) { sessions_.erase(session); }

private:
    void accept_next();

    asio::io_context& io_;
    std::string path_;
    std::string group_;
    RequestHandler& handler_;
    std::shared_ptr<spdlog::logger> log_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::set<std::shared_ptr<ControlSession>> sessions_;
    bool bound_ = false;
};

}  // namespace chat
