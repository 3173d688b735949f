#include "udp_transport.hpp"

#include <pthread.h>

#include <spdlog/logger.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

namespace chat {

UdpTransport::UdpTransport(const Endpoint& bind_to, std::size_t receive_buffer_bytes,
                           Counters& counters, std::chrono::milliseconds reject_after,
                           std::shared_ptr<spdlog::logger> log)
    : family_(bind_to.family()),
      receive_buffer_bytes_(receive_buffer_bytes),
      counters_(counters),
      log_(std::move(log)),
      send_keys_(reject_after) {
    fd_.reset(::socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw std::system_error(errno, std::generic_category(), "UDP socket");
    if (family_ == AF_INET6) {
        const int off = 0;  // dual stack: IPv4 peers arrive as mapped addresses
        ::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    // Room for bursts; the kernel caps this at net.core.rmem_max.
    const int kernel_buffer = 4 << 20;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &kernel_buffer, sizeof kernel_buffer);
    if (::bind(fd_.get(), bind_to.addr(), bind_to.length) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot bind UDP " + endpoint_key(bind_to));
    }
    std::random_device random;
    probe_ = "chatd-probe " + std::to_string(random()) + std::to_string(random()) +
             std::to_string(random());
    probe_to_ = local_endpoint();
    if (family_ == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&probe_to_.storage);
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&probe_to_.storage);
        if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    }
}

bool UdpTransport::send_probe() {
    return outbound_.try_push(Outbound{probe_to_, probe_, Wire::raw, {}, false});
}

void UdpTransport::stall_sender(std::chrono::milliseconds how_long) {
    outbound_.try_push(Outbound{{}, {}, Wire::raw, how_long, false});
}

UdpTransport::~UdpTransport() { stop(); }

Endpoint UdpTransport::local_endpoint() const {
    Endpoint e;
    e.length = sizeof e.storage;
    ::getsockname(fd_.get(), e.addr(), &e.length);
    return e;
}

void UdpTransport::start(Handler handler, BatchEnd batch_end) {
    // Named for top -H and perf.
    receiver_ = std::thread([this, h = std::move(handler), end = std::move(batch_end)] {
        pthread_setname_np(pthread_self(), "chatd-receiver");
        receive_loop(h, end);
    });
    sender_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "chatd-sender");
        send_loop();
    });
}

bool UdpTransport::send(const Endpoint& to, std::string bytes, Wire wire) {
    return outbound_.try_push(Outbound{to, std::move(bytes), wire, {}, false});
}

bool UdpTransport::add_send_key(SendKey key) {
    const bool wake = key.peer_lost_session;
    if (!send_keys_.hand_over(std::move(key))) return false;
    if (wake) outbound_.try_push(Outbound{{}, {}, Wire::raw, {}, true});
    return true;
}

void UdpTransport::stop() {
    if (stopping_.exchange(true)) return;
    // shutdown() wakes a recvmsg blocked on this socket, even unconnected.
    if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
    outbound_.close();
    if (receiver_.joinable()) receiver_.join();
    if (sender_.joinable()) sender_.join();
    fd_.reset();
}

void UdpTransport::receive_loop(const Handler& handler, const BatchEnd& batch_end) {
    // One slot per datagram; recvmmsg waits for the first and takes what
    // else is queued, so a burst costs one wakeup per batch downstream.
    // Not zeroed: only what arrives is touched.
    const std::size_t slot = receive_buffer_bytes_;
    const std::unique_ptr<char[]> buffer(new char[slot * kReceiveBatch]);
    std::array<Endpoint, kReceiveBatch> from;
    std::array<iovec, kReceiveBatch> iov;
    std::array<mmsghdr, kReceiveBatch> messages;
    while (!stopping_.load()) {
        for (std::size_t i = 0; i < kReceiveBatch; ++i) {
            iov[i] = {buffer.get() + i * slot, slot};
            messages[i] = {};
            messages[i].msg_hdr.msg_name = &from[i].storage;
            messages[i].msg_hdr.msg_namelen = sizeof from[i].storage;
            messages[i].msg_hdr.msg_iov = &iov[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        const int n =
            ::recvmmsg(fd_.get(), messages.data(), kReceiveBatch, MSG_WAITFORONE, nullptr);
        if (stopping_.load()) break;
        if (n < 0) {
            if (errno != EINTR) log_->warn("UDP receive failed: {}", std::strerror(errno));
            continue;
        }
        if (const auto stall = receiver_stall_.exchange(std::chrono::milliseconds(0));
            stall.count() > 0) {
            std::this_thread::sleep_for(stall);
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            const msghdr& header = messages[i].msg_hdr;
            from[i].length = header.msg_namelen;
            const std::string_view bytes(buffer.get() + i * slot, messages[i].msg_len);
            if (bytes == probe_) {
                probes_received_.fetch_add(1);
                continue;
            }
            handler(bytes, from[i], (header.msg_flags & MSG_TRUNC) != 0);
        }
        if (batch_end) batch_end();
    }
}

void UdpTransport::send_loop() {
    std::string sealed;  // reused: one buffer for every sealed datagram
    SendKeys::Resends resends;
    while (auto item = outbound_.pop()) {
        send_keys_.refresh(resends);
        if (item->stall.count() > 0) {
            std::this_thread::sleep_for(item->stall);
            continue;
        }
        if (item->keys_only) {
            // Queued after the handshake response that made the key: resent
            // any earlier (when an item before it took the key), they would
            // reach a peer that cannot open them yet.
            for (const auto& [to, bytes] : resends) send_now(to, bytes);
            resends.clear();
            continue;
        }
        if (item->wire == Wire::raw) {
            send_now(item->to, item->bytes);
        } else if (send_keys_.seal(item->to, endpoint_key(item->to), std::move(item->bytes),
                                   sealed)) {
            send_now(item->to, sealed);
        } else {
            bump(counters_.sealed_send_dropped);
        }
    }
}

void UdpTransport::send_now(const Endpoint& to, const std::string& bytes) {
    const ssize_t n =
        ::sendto(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL, to.addr(), to.length);
    if (n < 0) {
        bump(counters_.send_errors);
        log_->debug("sendto {} failed: {}", endpoint_key(to), std::strerror(errno));
    } else {
        bump(counters_.sent);
    }
}

}  // namespace chat
