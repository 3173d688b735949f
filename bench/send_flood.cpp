// Sends COUNT chat messages through chatd's control socket as fast as it
// takes them: CLIENTS threads, each with one connection for all its
// requests, not waiting for the peer's ack; each request carries BATCH
// messages (`texts`), or one (`text`) when BATCH is 1. The load generator
// for the chat throughput case: a Python client would measure itself, not
// chatd.
//
//   send_flood SOCKET PEER COUNT PAYLOAD_BYTES CLIENTS [BATCH]
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// One client's connection, kept for all its requests: each request is
// written, then its reply line read, as chatcli does for one.
class Connection {
public:
    explicit Connection(const std::string& socket_path)
        : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
        ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~Connection() { ::close(fd_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool send(const std::string& request) {
        if (!ok_ ||
            ::write(fd_, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
            return ok_ = false;
        std::size_t newline;
        while ((newline = pending_.find('\n')) == std::string::npos) {
            char buffer[4096];
            const ssize_t n = ::read(fd_, buffer, sizeof buffer);
            if (n <= 0) return ok_ = false;
            pending_.append(buffer, static_cast<std::size_t>(n));
        }
        const bool accepted = pending_.substr(0, newline).find("\"ok\":true") != std::string::npos;
        pending_.erase(0, newline + 1);
        return accepted;
    }

private:
    int fd_;
    bool ok_ = false;
    std::string pending_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6 && argc != 7) {
        std::fprintf(stderr, "usage: send_flood SOCKET PEER COUNT PAYLOAD_BYTES CLIENTS [BATCH]\n");
        return 2;
    }
    const std::string socket_path = argv[1];
    const std::string peer = argv[2];
    const long count = std::atol(argv[3]);
    const std::string text(static_cast<std::size_t>(std::atol(argv[4])), 'x');
    const long clients = std::max(1L, std::atol(argv[5]));
    const long batch = argc == 7 ? std::max(1L, std::atol(argv[6])) : 1;
    const auto request_for = [&](long messages) {
        std::string request = "{\"cmd\":\"send\",\"peer\":\"" + peer + "\",\"wait\":false,";
        if (batch == 1) return request + "\"text\":\"" + text + "\"}\n";
        request += "\"texts\":[";
        for (long i = 0; i < messages; ++i) request += (i ? ",\"" : "\"") + text + "\"";
        return request + "]}\n";
    };
    const std::string full_request = request_for(batch);
    std::atomic<long> next{0}, failed{0};
    std::vector<std::thread> threads;
    for (long c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            Connection connection(socket_path);
            for (;;) {
                const long first = next.fetch_add(batch);
                if (first >= count) break;
                const long messages = std::min(batch, count - first);
                const bool ok =
                    connection.send(messages == batch ? full_request : request_for(messages));
                if (!ok) failed.fetch_add(messages);
            }
        });
    }
    for (auto& t : threads) t.join();
    std::printf("{\"sent\":%ld,\"failed\":%ld}\n", count, failed.load());
    return failed.load() == 0 ? 0 : 1;
}
