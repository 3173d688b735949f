#include "control_client.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

namespace chat::cli {
namespace {

// The name for an id in /etc/passwd or /etc/group ("name:x:id:..."), read
// directly: chatcli is linked statically, where NSS lookups are unsafe.
std::string name_for(const char* file, unsigned id, const char* kind) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        const auto third = line.find(':', second + 1);
        if (third == std::string::npos) continue;
        if (line.substr(second + 1, third - second - 1) == std::to_string(id))
            return line.substr(0, first);
    }
    return std::string(kind) + " " + std::to_string(id);
}
std::string user_name(uid_t uid) { return name_for("/etc/passwd", uid, "uid"); }
std::string group_name(gid_t gid) { return name_for("/etc/group", gid, "gid"); }

// Why this user may not connect to `path`, which is there: what its mode
// allows, and who may.
std::string denied_advice(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const auto slash = path.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
        return "\nchatd's socket " + path + " is in a directory (" + dir +
               ") this user may not enter; run as a user who may, or point --socket or "
               "$CHATD_SOCKET at a socket you can use.";
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const std::string owner = user_name(st.st_uid), group = group_name(st.st_gid);
    std::string advice = "\nThe socket " + path + " exists, but this user (" +
                         user_name(::geteuid()) + ") may not use it (mode " + mode + ", owner " +
                         owner + ", group " + group + "): ";
    if (st.st_mode & S_IWGRP) {
        advice += "ask for membership of group " + group +
                  " (it takes effect at the next login), or run chatcli as " + owner + ".";
    } else {
        advice += "run chatcli as " + owner + " (the daemon's user).";
    }
    return advice;
}

}  // namespace

ControlClient ControlClient::connect(const std::vector<std::string>& candidates) {
    std::string tried, denied;
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
            if ((errno == EACCES || errno == EPERM) && denied.empty()) denied = denied_advice(path);
            ::close(fd);
        }
        tried += "\n  " + path + " (" + why + ")";
    }
    // A socket there but refused is a daemon running for someone else, not
    // one to start.
    if (!denied.empty()) throw Unreachable("chatd is not reachable; tried:" + tried + denied);
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
