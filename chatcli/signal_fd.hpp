#pragma once
// Signals read as data from a descriptor a poll loop waits on, with the
// other descriptors: the signals are blocked (sigprocmask) before the
// signalfd is made, so none is delivered as a handler would see it and no
// state is shared with a handler.
#include <initializer_list>

namespace chat::cli {

class SignalFd {
public:
    explicit SignalFd(std::initializer_list<int> signals);
    ~SignalFd();
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;
    int fd() const { return fd_; }
    // The signal that made the descriptor readable (0 if none could be read).
    int take() const;

private:
    int fd_ = -1;
};

}  // namespace chat::cli
