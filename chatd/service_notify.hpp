#pragma once
// sd_notify(3) without libsystemd: one datagram of "KEY=value" lines to
// the Unix socket systemd named in $NOTIFY_SOCKET. Outside systemd (no
// socket) every call is a no-op, so the daemon runs the same either way.
#include <string>
#include <string_view>

namespace chat {

class ServiceNotifier {
public:
    ServiceNotifier() = default;  // disabled
    // A path, or "@name" for an abstract socket.
    explicit ServiceNotifier(std::string socket);

    bool enabled() const { return !socket_.empty(); }
    // Sends e.g. "READY=1\nSTATUS=listening"; false if it could not be sent.
    bool notify(std::string_view state) const;

private:
    std::string socket_;
};

}  // namespace chat
