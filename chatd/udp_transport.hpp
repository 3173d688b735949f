#pragma once
// One bound UDP socket with two plain threads on it, as in the classic
// threading chat: the receiver blocks in recvmmsg and hands each datagram
// to a handler (then says the batch is done); the sender blocks on a
// bounded queue and calls sendto. A datagram to send is sealed there, on
// the sender thread, with the peer's session key (SendKeys, its own), or
// goes raw: handshake packets, cookies, plain text to plain peers.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "bounded_queue.hpp"
#include "counters.hpp"
#include "net.hpp"
#include "send_keys.hpp"
#include "unique_fd.hpp"

namespace spdlog {
class logger;
}

namespace chat {

// How a datagram leaves: sealed with the peer's session key (none, or too
// old: dropped and counted, the sender retries), or as it is.
enum class Wire { sealed, raw };

class UdpTransport {
public:
    // Runs on the receiver thread; must not block for long.
    using Handler =
        std::function<void(std::string_view bytes, const Endpoint& from, bool truncated)>;
    // Runs on the receiver thread after the datagrams that were waiting
    // together (up to kReceiveBatch) went to the handler, so it can hand
    // their work on at once.
    using BatchEnd = std::function<void()>;
    static constexpr std::size_t kReceiveBatch = 16;

    // Binds at once (throws std::system_error with the address on failure),
    // so the caller knows before any thread starts.
    UdpTransport(const Endpoint& bind_to, std::size_t receive_buffer_bytes, Counters& counters,
                 std::chrono::milliseconds reject_after, std::shared_ptr<spdlog::logger> log);
    ~UdpTransport();
    UdpTransport(const UdpTransport&) = delete;
    UdpTransport& operator=(const UdpTransport&) = delete;

    Endpoint local_endpoint() const;
    int family() const { return family_; }

    void start(Handler handler, BatchEnd batch_end = {});
    // Queues a datagram for the sender thread; false if the queue is full
    // (the outbox retries) or the transport stopped.
    bool send(const Endpoint& to, std::string bytes, Wire wire = Wire::sealed);
    // Any thread (the receiver's): a session's send key, for the sender thread.
    bool add_send_key(SendKey key);
    // Wakes and joins both threads, then closes the socket. Idempotent.
    void stop();

    // Liveness: a probe datagram goes through the sender thread to our own
    // socket and is counted by the receiver thread (never handed on), so a
    // rising count shows both loops turning. For the service watchdog.
    bool send_probe();
    std::uint64_t probes_received() const { return probes_received_.load(); }
    // Test hook: the next datagram (or send) holds that thread this long.
    void stall_receiver(std::chrono::milliseconds how_long) { receiver_stall_ = how_long; }
    void stall_sender(std::chrono::milliseconds how_long);

private:
    struct Outbound {
        Endpoint to;
        std::string bytes;
        Wire wire = Wire::raw;
        std::chrono::milliseconds stall{0};  // test hook: sleep instead of sending
        bool keys_only = false;              // wakes the sender for a key with datagrams to resend
    };

    void receive_loop(const Handler& handler, const BatchEnd& batch_end);
    void send_loop();
    void send_now(const Endpoint& to, const std::string& bytes);

    UniqueFd fd_;  // closed by stop(), once both threads are joined
    int family_ = 0;
    std::size_t receive_buffer_bytes_;
    Counters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    BoundedQueue<Outbound> outbound_{8192};
    SendKeys send_keys_;  // the sender thread's
    std::atomic<bool> stopping_{false};
    std::string probe_;  // random per process: an outsider cannot fake it
    Endpoint probe_to_;  // our own address (loopback when bound to "any")
    std::atomic<std::uint64_t> probes_received_{0};
    std::atomic<std::chrono::milliseconds> receiver_stall_{std::chrono::milliseconds(0)};
    std::thread receiver_;
    std::thread sender_;
};

}  // namespace chat
