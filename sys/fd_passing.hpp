#pragma once
// One message plus descriptors (SCM_RIGHTS) on a Unix socket. Received
// descriptors are close-on-exec; none is leaked when the message or the
// control data is cut short.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "limits.hpp"  // callers that raise the limits before passing many

namespace chat {

// Owns descriptors and closes them, unless released.
class OwnedFds {
public:
    OwnedFds() = default;
    explicit OwnedFds(std::vector<int> fds) : fds_(std::move(fds)) {}
    ~OwnedFds() { reset(); }
    OwnedFds(OwnedFds&& other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }
    OwnedFds& operator=(OwnedFds&& other) noexcept;
    OwnedFds(const OwnedFds&) = delete;
    OwnedFds& operator=(const OwnedFds&) = delete;

    const std::vector<int>& get() const { return fds_; }
    std::size_t size() const { return fds_.size(); }
    void push_back(int fd) { fds_.push_back(fd); }
    void reset();

private:
    std::vector<int> fds_;
};

// Sends `data` with `fds` attached in one message; false with errno set on
// failure. Blocks until sent (messages here are small).
bool send_with_fds(int socket, std::string_view data, const std::vector<int>& fds);

enum class ReceiveResult { message, closed, error, truncated };

// Receives one message (at most max_bytes) and its descriptors.
ReceiveResult receive_with_fds(int socket, std::string& data, OwnedFds& fds, std::size_t max_bytes,
                               int flags = 0);

}  // namespace chat
