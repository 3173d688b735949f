#include "stream_io.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "content_hash.hpp"
#include "flat_json.hpp"
#include "staging.hpp"  // write_all

namespace chat::stream_io {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxLineBytes = 1 << 20;
constexpr std::int64_t kProgressEveryBytes = 4 << 20;

}  // namespace

StreamError bad_peer(const std::string& why) { return StreamError(why, FailureKind::protocol); }

// Read without json's lexer when the line is flat, as most are.
PeerLine::PeerLine(std::string_view text) {
    auto flat = read_flat_object(text);
    doc_ = flat ? std::move(*flat) : json::parse(text, nullptr, false);
    if (doc_.is_discarded() || !doc_.is_object()) throw bad_peer("the peer sent a bad line");
}

const json* PeerLine::find(std::string_view key) const {
    const auto it = doc_.find(key);
    return it == doc_.end() ? nullptr : &*it;
}

bool PeerLine::has(std::string_view key) const { return find(key) != nullptr; }

std::uint64_t PeerLine::count(std::string_view key) const {
    const json* value = find(key);
    if (!value || !value->is_number_unsigned()) throw bad_peer("the peer sent a bad line");
    return value->get<std::uint64_t>();
}

std::uint64_t PeerLine::count_or(std::string_view key, std::uint64_t absent) const {
    return has(key) ? count(key) : absent;
}

bool PeerLine::flag_or(std::string_view key, bool absent) const {
    const json* value = find(key);
    if (!value) return absent;
    if (!value->is_boolean()) throw bad_peer("the peer sent a bad line");
    return value->get<bool>();
}

const std::string& PeerLine::text(std::string_view key) const {
    const json* value = find(key);
    if (!value || !value->is_string()) throw bad_peer("the peer sent a bad line");
    return value->get_ref<const std::string&>();
}

std::string PeerLine::text_or(std::string_view key, const std::string& absent) const {
    return has(key) ? text(key) : absent;
}

std::uint64_t PeerLine::count_in_or(std::string_view object, std::string_view key,
                                    std::uint64_t absent) const {
    const json* outer = find(object);
    if (!outer) return absent;
    if (!outer->is_object()) throw bad_peer("the peer sent a bad line");
    const auto it = outer->find(key);
    if (it == outer->end()) return absent;
    if (!it->is_number_unsigned()) throw bad_peer("the peer sent a bad line");
    return it->get<std::uint64_t>();
}

void set_socket_options(int fd, int seconds) {
    const timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // fails harmlessly on non-TCP
}

std::string json_line(const json& doc) {
    return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void send_all(int fd, std::string_view text) {
    if (!write_all(fd, text.data(), text.size())) throw StreamError("send failed: " + errno_text());
}

std::string_view Reader::text_line() {
    line_.clear();
    for (;;) {
        const char* data = buffer_.data();
        if (const void* newline = std::memchr(data + begin_, '\n', end_ - begin_)) {
            const auto length =
                static_cast<std::size_t>(static_cast<const char*>(newline) - (data + begin_));
            line_.append(data + begin_, length);
            begin_ += length + 1;
            return line_;
        }
        line_.append(data + begin_, end_ - begin_);
        begin_ = end_ = 0;
        if (line_.size() > kMaxLineBytes) throw bad_peer("the peer sent an over-long line");
        fill();
    }
}

std::optional<std::string_view> Reader::try_text_line() {
    for (;;) {
        if (std::memchr(buffer_.data() + begin_, '\n', end_ - begin_)) return text_line();
        if (begin_ > 0) {
            std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == buffer_.size()) throw bad_peer("the peer sent an over-long line");
        const ssize_t n = ::recv(fd_, buffer_.data() + end_, buffer_.size() - end_, MSG_DONTWAIT);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) throw StreamError("the peer closed the connection");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        throw StreamError("receive failed: " + errno_text());
    }
}

void Reader::fill() {
    if (before_wait_) before_wait_();
    for (;;) {
        const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
            return;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) throw StreamError("the peer closed the connection");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            throw StreamError("the peer stopped answering");
        throw StreamError("receive failed: " + errno_text());
    }
}

Writer::Writer(int fd, int timeout_seconds, std::function<void()> on_readable)
    : fd_(fd), timeout_ms_(timeout_seconds * 1000), on_readable_(std::move(on_readable)) {
    out_.reserve(kChunkBytes + 4096);
}

void Writer::flush() {
    std::size_t done = 0;
    while (done < out_.size()) {
        pollfd p{fd_, POLLIN | POLLOUT, 0};
        const int ready = ::poll(&p, 1, timeout_ms_);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw StreamError("poll failed: " + errno_text());
        if (ready == 0) throw StreamError("the peer stopped answering");
        if (p.revents & POLLIN) on_readable_();
        if (!(p.revents & (POLLOUT | POLLERR | POLLHUP))) continue;
        const ssize_t n =
            ::send(fd_, out_.data() + done, out_.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            throw StreamError("send failed: " + errno_text());
        }
    }
    out_.clear();
}

void hash_prefix(int fd, std::uint64_t size, ContentHash& hash, ChunkBuffer& buffer,
                 const std::string& path) {
    std::uint64_t done = 0;
    while (done < size) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
        const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw StreamError("cannot read back '" + path +
                              "': " + (n == 0 ? "too short" : errno_text()));
        hash.update(buffer.data(), static_cast<std::size_t>(n));
        done += static_cast<std::uint64_t>(n);
    }
}

void ProgressBatcher::bytes(std::int64_t n) {
    pending_ += n;
    if (pending_ >= kProgressEveryBytes || pending_ <= -kProgressEveryBytes) flush();
}

void ProgressBatcher::already_there(std::uint64_t n) {
    there_ += n;
    bytes(static_cast<std::int64_t>(n));
}

void ProgressBatcher::file_done(std::size_t index) {
    verified_.push_back(index);
    if (verified_.size() >= kFilesPerReport) flush();
}

void ProgressBatcher::flush() {
    if (pending_ == 0 && verified_.empty()) return;
    report_(std::exchange(pending_, 0), verified_, std::exchange(there_, 0));
    verified_.clear();
}

}  // namespace chat::stream_io
