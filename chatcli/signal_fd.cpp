#include "signal_fd.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>

namespace chat::cli {

SignalFd::SignalFd(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (const int signo : signals) sigaddset(&set, signo);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
}

SignalFd::~SignalFd() {
    if (fd_ >= 0) ::close(fd_);
}

int SignalFd::take() const {
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
}

}  // namespace chat::cli
