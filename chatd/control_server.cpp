#include "control_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <spdlog/logger.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/un.h>
#include <algorithm>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace chat {

namespace {
// Replies a client has not read yet; past this it is too slow and dropped.
constexpr std::size_t kMaxQueuedReplyBytes = 4 << 20;
constexpr std::size_t kMaxLinesPerWrite = 64;  // below IOV_MAX (1024)
// A client that connects and sends no whole request in this long is
// closed, so idle connections cannot pile up without bound.
constexpr auto kRequestTimeout = std::chrono::seconds(60);
constexpr std::size_t kMaxReadAhead = 64 << 10;

// The credentials the kernel took when the client connected: they cannot
// change after, whatever the client does with its own ids.
std::optional<UserIds> peer_ids(int fd) {
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return std::nullopt;
    UserIds ids{peer.uid, peer.gid, {}};
    ids.groups.resize(64);
    for (;;) {
        socklen_t bytes = static_cast<socklen_t>(ids.groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, ids.groups.data(), &bytes) == 0) {
            ids.groups.resize(bytes / sizeof(gid_t));
            return ids;
        }
        if (errno != ERANGE) return std::nullopt;
        ids.groups.resize(bytes / sizeof(gid_t) + 1);  // bytes: what it needs
    }
}
}  // namespace

// One connection. Requests are taken one at a time, in order: each gets
// its own RequestReply, and once it finishes the next line is read, so a
// client may keep the connection for many requests (as send_flood and
// scripts do). Bytes that arrive while a request runs are kept for the
// next one; end of input while one runs ends it (the client hung up).
// A transfer, whose descriptors follow its request, is the connection's
// last request, as is one that was refused as malformed.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
public:
    ControlSession(asio::local::stream_protocol::socket socket, ControlServer& server,
                   RequestHandler& handler, spdlog::logger& log)
        : socket_(std::move(socket)),
          request_timer_(socket_.get_executor()),
          input_(kMaxRequestBytes + 1),
          server_(server),
          handler_(handler),
          log_(log) {}

    void start() { next_request(); }

    void send_line(std::string line) {
        if (!open_) return;
        if (queued_bytes_ + line.size() > kMaxQueuedReplyBytes) {
            log_.debug("control client is not reading its replies; closing it");
            close();
            return;
        }
        queued_bytes_ += line.size();
        writes_.push_back(std::move(line));
        if (!writing_) write_next();
    }

    // The running request has said all it will.
    void finish_request() {
        active_ = false;
        drained_ = nullptr;
        if (last_request_) {
            closing_ = true;
            if (!writing_) close();
        } else if (!writing_) {
            next_request();
        }  // else on_written goes on once its replies are out
    }

    bool is_open() const { return open_; }

    std::optional<UserIds> client() {
        return open_ ? peer_ids(socket_.native_handle()) : std::nullopt;
    }

    void receive_fds(std::size_t count, std::function<void(OwnedFds, const std::string&)> done) {
        fds_wanted_ = count;
        fds_done_ = std::move(done);
        fds_ = OwnedFds();
        send_line("{\"send_fds\":" + std::to_string(count) + "}\n");
        wait_for_fds();
    }

    void on_drained(std::function<void()> next) {
        if (!open_) return;
        if (writes_.empty()) {
            asio::post(socket_.get_executor(), std::move(next));
        } else {
            drained_ = std::move(next);
        }
    }

    void close() {
        if (!open_) return;
        open_ = false;
        request_timer_.cancel();
        drained_ = nullptr;
        fds_.reset();
        if (auto done = std::exchange(fds_done_, nullptr)) done(OwnedFds(), "the client left");
        asio::error_code ignored;
        socket_.close(ignored);
        server_.forget(shared_from_this());
    }

private:
    // Idle between requests: the next whole line, or wait for one (60 s).
    void next_request() {
        if (!open_) return;
        // One contiguous buffer (a streambuf's): memchr, not a scan through
        // asio's buffer iterators, which took 4 ms of a 2 MB request.
        const auto data = input_.data();
        const char* begin = static_cast<const char*>(data.data());
        // Only what came since the last look: a long request is scanned once.
        const std::size_t from = std::min(scanned_, data.size());
        if (const void* newline = std::memchr(begin + from, '\n', data.size() - from)) {
            const auto length = static_cast<std::size_t>(static_cast<const char*>(newline) - begin);
            std::string line(begin, length);
            input_.consume(length + 1);
            scanned_ = 0;
            if (awaiting_manifest_) {
                TransferRequest request = std::move(*awaiting_manifest_);
                awaiting_manifest_.reset();
                request.manifest = std::move(line);
                return dispatch(std::move(request));
            }
            return on_request(std::move(line));
        }
        scanned_ = input_.size();
        if (input_.size() > kMaxRequestBytes) {
            return reject("request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
        }
        request_timer_.expires_after(kRequestTimeout);
        request_timer_.async_wait([self = shared_from_this()](asio::error_code ec) {
            if (ec || !self->open_ || self->active_) return;
            self->log_.debug("control client sent no request in {} s; closing it",
                             kRequestTimeout.count());
            self->close();
        });
        read_more();
    }

    // Reads what the client sends, while idle (the next request) or while a
    // request runs (a hang-up ends it; a pipelined request waits).
    void read_more() {
        if (reading_ || !open_ || fds_done_) return;
        // While a request runs, read only a little ahead: enough to see a
        // hang-up and take pipelined requests, not 32 MiB per connection.
        const std::size_t limit = active_ ? kMaxReadAhead : input_.max_size();
        if (input_.size() >= limit) return;  // taken when idle
        const std::size_t room = limit - input_.size();
        reading_ = true;
        // Small reads for small requests (1,000 idle clients cost 4 MiB),
        // larger as a long one (a manifest) comes in.
        const std::size_t chunk = std::clamp<std::size_t>(input_.size(), 4096, 65536);
        socket_.async_read_some(input_.prepare(std::min(room, chunk)),
                                [self = shared_from_this()](asio::error_code ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(asio::error_code ec, std::size_t n) {
        reading_ = false;
        if (!open_) return;
        if (ec) {
            if (active_) log_.debug("control client hung up: {}", ec.message());
            // Gone: a running request ends with it, a half-sent one is dropped.
            close();
            return;
        }
        input_.commit(n);
        if (active_) {
            read_more();
        } else {
            next_request();
        }
    }

    void on_request(std::string line) {
        request_timer_.cancel();
        Request request;
        try {
            request = parse_request(line);
        } catch (const ProtocolError& e) {
            reject(e.what());
            return;
        }
        if (auto* transfer = std::get_if<TransferRequest>(&request);
            transfer && transfer->manifest_follows) {
            awaiting_manifest_ = std::move(*transfer);
            return next_request();
        }
        dispatch(std::move(request));
    }

    void dispatch(Request request) {
        request_timer_.cancel();
        active_ = true;
        // A transfer's descriptors follow its request: reading now would take
        // their bytes and the kernel would drop the files.
        const bool transfer = std::holds_alternative<TransferRequest>(request);
        if (transfer) {
            last_request_ = true;
        } else {
            read_more();
        }
        current_ = std::make_shared<RequestReply>(shared_from_this());
        handler_.handle(std::move(request), current_);
    }

    void wait_for_fds() {
        if (fds_.size() >= fds_wanted_) return finish_fds("");
        socket_.async_wait(
            asio::socket_base::wait_read, [self = shared_from_this()](asio::error_code ec) {
                if (!self->open_ || !self->fds_done_) return;
                if (ec) return self->finish_fds("the client left: " + ec.message());
                std::string data;
                const int fd = self->socket_.native_handle();
                switch (receive_with_fds(fd, data, self->fds_, 4096, MSG_DONTWAIT)) {
                    case ReceiveResult::message:
                        break;
                    case ReceiveResult::closed:
                        return self->finish_fds("the client left before passing its files");
                    case ReceiveResult::truncated:
                        return self->finish_fds("the client passed too many files at once");
                    case ReceiveResult::error:
                        if (errno != EAGAIN && errno != EWOULDBLOCK) {
                            return self->finish_fds(std::string("receiving files failed: ") +
                                                    std::strerror(errno));
                        }
                }
                self->wait_for_fds();
            });
    }

    void finish_fds(const std::string& error) {
        auto done = std::exchange(fds_done_, nullptr);
        if (!done) return;
        if (error.empty() && fds_.size() > fds_wanted_) {
            fds_.reset();
            return done(OwnedFds(), "the client passed more files than it said");
        }
        if (!error.empty()) {
            fds_.reset();
            return done(OwnedFds(), error);
        }
        read_more();  // from now on, only to see a hang-up
        done(std::move(fds_), "");
    }

    void reject(const std::string& why) {
        log_.debug("bad control request: {}", why);
        last_request_ = true;
        send_line(error_reply(codes::bad_request, why));
        finish_request();
    }

    // Every line queued so far in one write (up to kMaxLinesPerWrite): a
    // transfer's per-file events would otherwise cost a syscall each.
    // Lines queued meanwhile go in the next one.
    void write_next() {
        writing_ = true;
        in_flight_ = std::min(writes_.size(), kMaxLinesPerWrite);
        std::vector<asio::const_buffer> buffers;
        buffers.reserve(in_flight_);
        for (std::size_t i = 0; i < in_flight_; ++i) buffers.push_back(asio::buffer(writes_[i]));
        asio::async_write(socket_, buffers,
                          [self = shared_from_this()](asio::error_code ec, std::size_t) {
                              self->on_written(ec);
                          });
    }

    void on_written(asio::error_code ec) {
        writing_ = false;
        if (!open_) return;
        if (ec) {
            close();
            return;
        }
        for (; in_flight_ > 0; --in_flight_) {
            queued_bytes_ -= writes_.front().size();
            writes_.pop_front();
        }
        if (!writes_.empty()) {
            write_next();
        } else if (closing_) {
            close();
        } else if (!active_) {
            next_request();
        } else if (drained_) {
            std::exchange(drained_, nullptr)();
        }
    }

    // What a handler holds: it speaks for one request only, so a late
    // line from a finished request never lands in the next one's replies.
    class RequestReply : public ReplySink {
    public:
        explicit RequestReply(std::shared_ptr<ControlSession> session)
            : session_(std::move(session)) {}
        void send_line(std::string line) override {
            if (auto s = current()) s->send_line(std::move(line));
        }
        void finish() override {
            if (auto s = current()) {
                finished_ = true;
                s->current_.reset();
                s->finish_request();
            }
        }
        bool is_open() const override {
            const auto s = current();
            return s && s->is_open();
        }
        void on_drained(std::function<void()> next) override {
            if (auto s = current()) s->on_drained(std::move(next));
        }
        void receive_fds(std::size_t count,
                         std::function<void(OwnedFds, const std::string&)> done) override {
            if (auto s = current()) return s->receive_fds(count, std::move(done));
            done(OwnedFds(), "the client left");
        }
        std::optional<UserIds> client() const override {
            const auto s = current();
            return s ? s->client() : std::nullopt;
        }

    private:
        std::shared_ptr<ControlSession> current() const {
            if (finished_) return nullptr;
            auto s = session_.lock();
            return s && s->current_.get() == this ? s : nullptr;
        }
        std::weak_ptr<ControlSession> session_;
        bool finished_ = false;
    };

    asio::local::stream_protocol::socket socket_;
    asio::steady_timer request_timer_;
    asio::streambuf input_;
    ControlServer& server_;
    RequestHandler& handler_;
    spdlog::logger& log_;
    std::shared_ptr<RequestReply> current_;
    std::optional<TransferRequest> awaiting_manifest_;  // its manifest is the next line
    std::deque<std::string> writes_;  // push_back keeps the in-flight lines in place
    std::size_t in_flight_ = 0;       // lines of writes_ being written
    std::size_t queued_bytes_ = 0;
    std::size_t scanned_ = 0;  // bytes of input_ known to hold no newline
    bool writing_ = false;
    bool reading_ = false;
    bool active_ = false;        // a request is running
    bool last_request_ = false;  // close once it is answered
    bool closing_ = false;
    bool open_ = true;
    std::function<void()> drained_;
    std::size_t fds_wanted_ = 0;
    OwnedFds fds_;
    std::function<void(OwnedFds, const std::string&)> fds_done_;
};

ControlServer::ControlServer(asio::io_context& io, std::string path, std::string group,
                             RequestHandler& handler, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      path_(std::move(path)),
      group_(std::move(group)),
      handler_(handler),
      log_(std::move(log)),
      acceptor_(io) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error("control socket path is longer than " +
                                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                 " bytes: " + path_);
    }
    // The socket's directory exists: the daemon made the default one, and a
    // path the user gave must be in a directory that exists.
    namespace fs = std::filesystem;
    std::error_code fs_error;
    if (fs::exists(fs::symlink_status(path_, fs_error))) {
        // A socket nobody answers on is a leftover of a crash; a live one
        // means another chatd already serves it.
        asio::local::stream_protocol::socket probe(io_);
        asio::error_code probe_error;
        probe.connect(asio::local::stream_protocol::endpoint(path_), probe_error);
        if (!probe_error) {
            throw std::runtime_error("another chatd is already listening on " + path_);
        }
        fs::remove(path_, fs_error);
    }

    acceptor_.open(asio::local::stream_protocol());
    asio::error_code ec;
    acceptor_.bind(asio::local::stream_protocol::endpoint(path_), ec);
    if (ec) throw std::runtime_error("cannot bind control socket " + path_ + ": " + ec.message());
    bound_ = true;
    ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);

    mode_t mode = S_IRUSR | S_IWUSR;
    if (!group_.empty()) {
        const group* g = ::getgrnam(group_.c_str());
        if (!g) throw std::runtime_error("socket_group '" + group_ + "' does not exist");
        if (::chown(path_.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
            throw std::runtime_error("cannot give " + path_ + " to group " + group_ + ": " +
                                     std::strerror(errno));
        }
        mode |= S_IRGRP | S_IWGRP;
    }
    if (::chmod(path_.c_str(), mode) != 0) {
        throw std::runtime_error("cannot chmod " + path_ + ": " + std::strerror(errno));
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + path_ + ": " + ec.message());
    accept_next();
}

void ControlServer::accept_next() {
    acceptor_.async_accept([this](asio::error_code ec,
                                  asio::local::stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            ucred peer{};
            socklen_t length = sizeof peer;
            if (log_->should_log(spdlog::level::debug) &&
                ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) ==
                    0) {
                log_->debug("control client: pid {}, uid {}, gid {}", peer.pid, peer.uid, peer.gid);
            }
            auto session =
                std::make_shared<ControlSession>(std::move(socket), *this, handler_, *log_);
            sessions_.insert(session);
            session->start();
        } else {
            log_->warn("control socket accept failed: {}", ec.message());
        }
        accept_next();
    });
}

void ControlServer::stop() {
    asio::error_code ignored;
    acceptor_.close(ignored);
    for (auto session : std::set(sessions_)) session->close();
    sessions_.clear();
    if (bound_) {
        ::unlink(path_.c_str());
        bound_ = false;
    }
}

}  // namespace chat
