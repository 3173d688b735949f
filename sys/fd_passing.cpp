#include "fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "worker_protocol.hpp"

namespace chat {

OwnedFds& OwnedFds::operator=(OwnedFds&& other) noexcept {
    if (this != &other) {
        reset();
        fds_ = std::exchange(other.fds_, {});
    }
    return *this;
}

void OwnedFds::reset() {
    for (const int fd : fds_) ::close(fd);
    std::vector<int>().swap(fds_);  // clear() would keep a big tree's capacity
}

bool send_with_fds(int socket, std::string_view data, const std::vector<int>& fds) {
    if (fds.size() > kMaxFdsPerMessage) {
        errno = EINVAL;
        return false;
    }
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        if (::sendmsg(socket, &msg, MSG_NOSIGNAL) >= 0) return true;
        if (errno != EINTR) return false;
    }
}

ReceiveResult receive_with_fds(int socket, std::string& data, OwnedFds& fds, std::size_t max_bytes,
                               int flags) {
    data.resize(max_bytes);
    iovec iov{data.data(), data.size()};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | flags);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ReceiveResult::error;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.push_back(fd);
        }
    }
    if (n == 0 && fds.size() == 0) return ReceiveResult::closed;
    data.resize(static_cast<std::size_t>(n));
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        fds.reset();
        return ReceiveResult::truncated;
    }
    return ReceiveResult::message;
}

}  // namespace chat
