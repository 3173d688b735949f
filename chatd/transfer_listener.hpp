#pragma once
// The TCP side of receiving: accepts the connections of transfers we
// accepted, reads each one's header line, and lets through only those
// that present the one-time token of a transfer that takes connections
// now. What passes is handed on: a manifest (in the header, or as the line
// after it), or a data connection naming its files. Control thread only
// (every handler runs there, on the io_context given).
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/streambuf.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net.hpp"

namespace spdlog {
class logger;
}

namespace chat {

class TransferListener {
public:
    struct Handlers {
        // The token of transfer `id` if it takes connections now, else null.
        std::function<const std::string*(const std::string& id)> token_of;
        // Whether transfer `id` takes data connections now (it has its manifest).
        std::function<bool(const std::string& id)> wants_files;
        std::function<void(const std::string& id, asio::ip::tcp::socket& socket,
                           const std::string& manifest)>
            on_manifest;
        std::function<void(const std::string& id, asio::ip::tcp::socket& socket,
                           const std::vector<std::size_t>& files)>
            on_files;
    };

    TransferListener(asio::io_context& io, std::shared_ptr<spdlog::logger> log, Handlers handlers);

    // Listens on TCP at `listen` (the UDP address); throws std::system_error
    // if it cannot bind.
    void start(const Endpoint& listen);
    void stop();
    std::uint16_t port() const;

private:
    void accept_next();
    void on_header(std::shared_ptr<asio::ip::tcp::socket> socket,
                   std::shared_ptr<asio::streambuf> rest, const std::string& line);
    // The manifest as the line after the header (already partly in `rest`).
    void read_manifest_line(std::shared_ptr<asio::ip::tcp::socket> socket,
                            std::shared_ptr<asio::streambuf> rest, const std::string& id);

    asio::io_context& io_;
    std::shared_ptr<spdlog::logger> log_;
    Handlers handlers_;
    asio::ip::tcp::acceptor acceptor_;
    bool stopped_ = false;
};

}  // namespace chat
