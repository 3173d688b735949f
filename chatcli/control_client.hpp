#pragma once
// A blocking connection to chatd's control socket: write one request, read
// reply lines. The fd is exposed so the chat loop can poll several.
#include <optional>
#include <string>
#include <vector>

#include "control_protocol.hpp"

namespace chat::cli {

class ControlClient {
public:
    // Tries each candidate in order; throws Unreachable saying what was tried.
    static ControlClient connect(const std::vector<std::string>& candidates);
    ControlClient(ControlClient&& other) noexcept;
    ControlClient& operator=(ControlClient&& other) noexcept;
    ~ControlClient();

    void send(const Request& request);
    void send_text(const std::string& text);  // lines encoded already
    // Reads give up after this long (a daemon that never answers), throwing
    // NoAnswer; 0 waits forever, as following does.
    void set_read_timeout(double seconds);
    // The next line without its '\n'; nullopt when the daemon closed.
    std::optional<std::string> read_line();
    // Reads what is available into the buffer (for poll loops); false on EOF.
    bool fill();
    std::optional<std::string> take_buffered_line();
    // Whether a whole line is waiting in the buffer (read_line will not block).
    bool line_ready() const { return buffer_.find('\n', taken_) != std::string::npos; }
    int fd() const { return fd_; }

    struct Unreachable : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    struct NoAnswer : std::runtime_error {
        using std::runtime_error::runtime_error;
    };

private:
    explicit ControlClient(int fd) : fd_(fd) {}
    int fd_ = -1;
    double read_timeout_ = 0;
    std::string buffer_;
    std::size_t taken_ = 0;  // bytes of buffer_ already returned as lines
};

}  // namespace chat::cli
