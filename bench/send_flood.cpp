// Sends COUNT chat messages through chatd's control socket as fast as it
// takes them: CLIENTS threads, one connection per request (the protocol's
// unit), not waiting for the peer's ack. The load generator for the chat
// throughput case: a Python client would measure itself, not chatd.
//
//   send_flood SOCKET PEER COUNT PAYLOAD_BYTES CLIENTS
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

bool send_one(const std::string& socket_path, const std::string& request) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
              ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size());
    std::string reply;
    char buffer[512];
    while (ok && reply.find('\n') == std::string::npos) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return ok && reply.find("\"ok\":true") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: send_flood SOCKET PEER COUNT PAYLOAD_BYTES CLIENTS\n");
        return 2;
    }
    const std::string socket_path = argv[1];
    const std::string peer = argv[2];
    const long count = std::atol(argv[3]);
    const std::string text(static_cast<std::size_t>(std::atol(argv[4])), 'x');
    const long clients = std::max(1L, std::atol(argv[5]));
    const std::string request =
        "{\"cmd\":\"send\",\"peer\":\"" + peer + "\",\"text\":\"" + text + "\",\"wait\":false}\n";
    std::atomic<long> next{0}, failed{0};
    std::vector<std::thread> threads;
    for (long c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            while (next.fetch_add(1) < count) {
                if (!send_one(socket_path, request)) failed.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    std::printf("{\"sent\":%ld,\"failed\":%ld}\n", count, failed.load());
    return failed.load() == 0 ? 0 : 1;
}
