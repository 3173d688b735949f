// The baseline for chat throughput: a minimal sendto -> recvfrom pair on
// loopback, payloads of one size, as fast as it goes. Prints one JSON line:
// {"sent":N,"received":M,"seconds":S,"per_second":M/S}.
//
//   udp_pair COUNT PAYLOAD_BYTES
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: udp_pair COUNT PAYLOAD_BYTES\n");
        return 2;
    }
    const long count = std::atol(argv[1]);
    const auto payload = static_cast<std::size_t>(std::atol(argv[2]));
    const int receiver = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int rcvbuf = 1 << 20;  // as in the measurement
    ::setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(receiver, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        std::perror("bind");
        return 1;
    }
    const timeval timeout{0, 200'000};  // the end: nothing more for 0.2 s
    ::setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

    std::atomic<long> received{0};
    std::chrono::steady_clock::time_point last;
    std::thread reader([&] {
        std::vector<char> buffer(65536);
        while (::recv(receiver, buffer.data(), buffer.size(), 0) >= 0) {
            received.fetch_add(1, std::memory_order_relaxed);
            last = std::chrono::steady_clock::now();
            if (received.load() == count) break;
        }
    });
    const int sender = ::socket(AF_INET, SOCK_DGRAM, 0);
    const std::string data(payload, 'x');
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) {
        ::sendto(sender, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&address),
                 sizeof address);
    }
    reader.join();
    const double seconds = std::chrono::duration<double>(last - start).count();
    std::printf("{\"sent\":%ld,\"received\":%ld,\"seconds\":%.6f,\"per_second\":%.0f}\n", count,
                received.load(), seconds,
                seconds > 0 ? static_cast<double>(received) / seconds : 0);
    ::close(sender);
    ::close(receiver);
    return 0;
}
