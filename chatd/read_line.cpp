#include "read_line.hpp"

#include <algorithm>
#include <cstring>

namespace chat {

void read_line(std::shared_ptr<asio::ip::tcp::socket> socket,
               std::shared_ptr<asio::streambuf> buffer, std::size_t scanned,
               std::function<void(asio::error_code, std::size_t)> done) {
    const auto data = buffer->data();  // a streambuf's bytes are contiguous
    const char* begin = static_cast<const char*>(data.data());
    if (const void* newline = std::memchr(begin + scanned, '\n', data.size() - scanned)) {
        return done({}, static_cast<std::size_t>(static_cast<const char*>(newline) - begin) + 1);
    }
    if (buffer->size() >= buffer->max_size()) return done(asio::error::not_found, 0);
    const std::size_t room = std::min<std::size_t>(256 * 1024, buffer->max_size() - buffer->size());
    socket->async_read_some(
        buffer->prepare(room), [socket, buffer, scanned = data.size(), done = std::move(done)](
                                   asio::error_code ec, std::size_t n) mutable {
            if (ec) return done(ec, 0);
            buffer->commit(n);
            read_line(std::move(socket), std::move(buffer), scanned, std::move(done));
        });
}

}  // namespace chat
