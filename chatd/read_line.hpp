#pragma once
// One line from a TCP socket, for the transfer connections' headers and
// replies. On the control thread (the socket's io_context).
#include <asio/error_code.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/streambuf.hpp>
#include <cstddef>
#include <functional>
#include <memory>

namespace chat {

// Reads into `buffer` until a newline, and hands on the line's length
// with it, as async_read_until does; but the newline is looked for with
// memchr over what has come (asio's search steps through a generic
// iterator: milliseconds over a manifest's megabyte). `not_found` once
// the buffer is full without one. `scanned`: bytes already known to hold
// no newline (0 to start).
void read_line(std::shared_ptr<asio::ip::tcp::socket> socket,
               std::shared_ptr<asio::streambuf> buffer, std::size_t scanned,
               std::function<void(asio::error_code, std::size_t)> done);

}  // namespace chat
