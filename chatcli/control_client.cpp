#include "control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace chat::cli {

ControlClient ControlClient::connect(const std::vector<std::string>& candidates) {
    std::string tried;
    for (const auto& path : candidates) {
        std::string why;
        if (path.size() >= sizeof(sockaddr_un::sun_path)) {
            why = "path too long";
        } else {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw Unreachable(std::string("socket: ") + std::strerror(errno));
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
                return ControlClient(fd);
            }
            why = std::strerror(errno);
            ::close(fd);
        }
        tried += "\n  " + path + " (" + why + ")";
    }
    throw Unreachable("chatd is not reachable; tried:" + tried +
                      "\nStart it with `chatd` (or `make run` in the source tree), or point "
                      "--socket or $CHATD_SOCKET at its socket.");
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      taken_(std::exchange(other.taken_, 0)) {}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        buffer_ = std::move(other.buffer_);
        taken_ = std::exchange(other.taken_, 0);
    }
    return *this;
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

void ControlClient::send(const Request& request) { send_text(encode_request(request)); }

void ControlClient::send_text(const std::string& line) {
    std::size_t written = 0;
    while (written < line.size()) {
        const ssize_t n = ::send(fd_, line.data() + written, line.size() - written, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Unreachable(std::string("lost the connection to chatd: ") + std::strerror(errno));
        }
        written += static_cast<std::size_t>(n);
    }
}

void ControlClient::set_read_timeout(double seconds) {
    read_timeout_ = seconds;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

bool ControlClient::fill() {
    char chunk[16384];
    for (;;) {
        const ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            char seconds[32];
            std::snprintf(seconds, sizeof seconds, "%g", read_timeout_);
            throw NoAnswer(std::string("chatd did not answer within ") + seconds + " s");
        }
        if (n <= 0) return false;
        buffer_.erase(0, std::exchange(taken_, 0));
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
}

std::optional<std::string> ControlClient::take_buffered_line() {
    const auto newline = buffer_.find('\n', taken_);
    if (newline == std::string::npos) return std::nullopt;
    std::string line = buffer_.substr(taken_, newline - taken_);
    taken_ = newline + 1;
    return line;
}

std::optional<std::string> ControlClient::read_line() {
    for (;;) {
        if (auto line = take_buffered_line()) return line;
        if (!fill()) return std::nullopt;
    }
}

}  // namespace chat::cli
