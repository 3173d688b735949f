#include "transfer_listener.hpp"

#include <spdlog/logger.h>

#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <chrono>
#include <system_error>

#include "address.hpp"
#include "flat_json.hpp"
#include "peer_json.hpp"
#include "read_line.hpp"

namespace chat {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxHeaderBytes = 64 << 20;  // a manifest of ~500k files
constexpr auto kHeaderTimeout = std::chrono::seconds(15);

bool same_token(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;  // constant time: no early exit
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

// Closes `socket` unless cancelled first: a peer that says nothing in time.
std::shared_ptr<asio::steady_timer> close_unless_heard(
    asio::io_context& io, const std::shared_ptr<asio::ip::tcp::socket>& socket) {
    auto timer = std::make_shared<asio::steady_timer>(io, kHeaderTimeout);
    timer->async_wait([socket](asio::error_code ec) {
        if (!ec) socket->close(ec);
    });
    return timer;
}

}  // namespace

TransferListener::TransferListener(asio::io_context& io, std::shared_ptr<spdlog::logger> log,
                                   Handlers handlers)
    : io_(io), log_(std::move(log)), handlers_(std::move(handlers)), acceptor_(io) {}

void TransferListener::start(const Endpoint& listen) {
    const std::string key = endpoint_key(listen);
    const HostPort hp = parse_host_port(key, true);
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(hp.host), hp.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
    asio::error_code ec;
    acceptor_.bind(endpoint, ec);
    if (ec) {
        asio::error_code ignored;
        acceptor_.close(ignored);
        throw std::system_error(ec, "cannot bind TCP " + key + " for transfers");
    }
    acceptor_.listen(asio::socket_base::max_listen_connections);
    accept_next();
}

void TransferListener::stop() {
    stopped_ = true;
    asio::error_code ignored;
    acceptor_.close(ignored);
}

std::uint16_t TransferListener::port() const { return acceptor_.local_endpoint().port(); }

void TransferListener::accept_next() {
    acceptor_.async_accept([this](asio::error_code ec, asio::ip::tcp::socket accepted) {
        if (ec == asio::error::operation_aborted || stopped_) return;
        if (!ec) {
            auto socket = std::make_shared<asio::ip::tcp::socket>(std::move(accepted));
            auto buffer = std::make_shared<asio::streambuf>(kMaxHeaderBytes);
            auto timer = close_unless_heard(io_, socket);
            read_line(socket, buffer, 0,
                      [this, socket, buffer, timer](asio::error_code ec, std::size_t n) {
                          timer->cancel();
                          if (ec) return;
                          const std::string header(static_cast<const char*>(buffer->data().data()),
                                                   n - 1);
                          buffer->consume(n);
                          on_header(socket, buffer, header);
                      });
        }
        accept_next();
    });
}

void TransferListener::on_header(std::shared_ptr<asio::ip::tcp::socket> socket,
                                 std::shared_ptr<asio::streambuf> rest, const std::string& text) {
    asio::error_code ec;
    const auto remote = socket->remote_endpoint(ec);
    const std::string who = ec ? "?" : remote.address().to_string();
    // The manifest's header is a flat object (the manifest as one string):
    // read without json's lexer, which took tens of ms for a large tree.
    auto flat = read_flat_object(text);
    json header = flat ? std::move(*flat) : json::parse(text, nullptr, false);
    std::string id;
    const std::string* expected = nullptr;
    if (header.is_object() && header.contains("transfer") && header["transfer"].is_string()) {
        id = header["transfer"].get<std::string>();
        expected = handlers_.token_of(id);
    }
    const std::string token = string_field(header, "token");
    // Nothing is written for a connection without the token of an accepted offer.
    if (!expected || expected->empty() || !same_token(token, *expected)) {
        log_->warn("refused a transfer connection from {}: no accepted offer with that token", who);
        socket->close(ec);
        return;
    }
    if (header.contains("manifest") && header["manifest"].is_string()) {
        return handlers_.on_manifest(id, *socket, header["manifest"].get_ref<const std::string&>());
    }
    if (true_field(header, "manifest_follows")) return read_manifest_line(socket, rest, id);
    if (header.contains("files") && header["files"].is_array() && handlers_.wants_files(id)) {
        std::vector<std::size_t> files;
        for (const auto& f : header["files"]) {
            if (!f.is_number_unsigned()) {
                socket->close(ec);
                return;
            }
            files.push_back(f.get<std::size_t>());
        }
        return handlers_.on_files(id, *socket, files);
    }
    socket->close(ec);
}

void TransferListener::read_manifest_line(std::shared_ptr<asio::ip::tcp::socket> socket,
                                          std::shared_ptr<asio::streambuf> rest,
                                          const std::string& id) {
    // Within the header's limits; the transfer is looked up again, as it
    // may end meanwhile.
    auto timer = close_unless_heard(io_, socket);
    read_line(socket, rest, 0, [this, socket, rest, timer, id](asio::error_code ec, std::size_t n) {
        timer->cancel();
        if (ec || !handlers_.token_of(id)) {
            socket->close(ec);
            return;
        }
        const std::string manifest(static_cast<const char*>(rest->data().data()), n - 1);
        handlers_.on_manifest(id, *socket, manifest);
    });
}

}  // namespace chat
