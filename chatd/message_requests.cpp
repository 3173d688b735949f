#include "message_requests.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "address.hpp"
#include "followers.hpp"
#include "outbox.hpp"
#include "peer_directory.hpp"
#include "peer_keys.hpp"
#include "text.hpp"

namespace chat {
namespace {

// A page stays well under the control session's 4 MiB reply queue.
constexpr std::size_t kStreamPageRows = 256;
constexpr std::size_t kStreamPageBytes = 512 * 1024;
constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

// Why message i of `count` cannot be sent; empty if it can.
std::string refusal(const std::string& text, std::size_t i, std::size_t count) {
    if (text.empty()) return count == 1 ? "empty message" : message_label(i, count) + " is empty";
    if (!is_valid_utf8(text)) {
        return (count == 1 ? std::string("the text") : message_label(i, count)) +
               " is not valid UTF-8";
    }
    return "";
}

// A send to a held peer (its key changed, or is not trusted): the outbox
// stores its messages as for any peer, and they wait there; the client is
// told why instead of ok, once they are stored.
class HeldSendReply : public ReplySink {
public:
    HeldSendReply(std::shared_ptr<ReplySink> reply, std::string why)
        : reply_(std::move(reply)), why_(std::move(why)) {}
    void send_line(std::string line) override {
        const auto reply = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        const bool ok = reply.is_object() && reply.value("ok", false);
        reply_->send_line(ok ? error_reply(codes::key_changed, why_) : std::move(line));
    }
    void finish() override { reply_->finish(); }
    bool is_open() const override { return reply_->is_open(); }
    void on_drained(std::function<void()> next) override { reply_->on_drained(std::move(next)); }
    void receive_fds(std::size_t count,
                     std::function<void(OwnedFds, const std::string&)> done) override {
        reply_->receive_fds(count, std::move(done));
    }
    std::optional<UserIds> client() const override { return reply_->client(); }

private:
    std::shared_ptr<ReplySink> reply_;
    std::string why_;
};

void finish_ok(const std::shared_ptr<ReplySink>& reply) {
    reply->send_line(reply_line({{"ok", true}}));
    reply->finish();
}

}  // namespace

MessageRequests::MessageRequests(PeerDirectory& peers, Outbox& outbox, Followers& followers,
                                 const PeerKeys& keys)
    : peers_(peers), outbox_(outbox), followers_(followers), keys_(keys) {}

void MessageRequests::send(SendRequest request, std::shared_ptr<ReplySink> reply) {
    const bool batch = !request.texts.empty();  // answered with every id
    if (!batch) request.texts.push_back(std::move(request.text));
    const std::size_t count = request.texts.size();
    // In a batch the bad message is named; nothing of the batch is sent.
    for (std::size_t i = 0; i < count; ++i) {
        if (const std::string why = refusal(request.texts[i], i, count); !why.empty()) {
            reply->send_line(error_reply(codes::bad_request, why + "; nothing was sent"));
            return reply->finish();
        }
    }
    const std::string spec = request.peer;
    peers_.resolve_destination(
        spec, reply,
        [this, request = std::move(request), batch, reply, spec](const Endpoint& to) mutable {
            const std::string peer = endpoint_key(to);
            // Refused before it is stored: plain text would go out in clear at once.
            if (request.plain && (keys_.pin(peer) != nullptr || keys_.held(peer))) {
                reply->send_line(error_reply(
                    codes::bad_request,
                    spec + (keys_.pin(peer) != nullptr ? " has a pinned key" : " offered a key") +
                        ": plain text would be readable by anyone and unauthenticated; send "
                        "without --plain"));
                return reply->finish();
            }
            if (!keys_.held(peer)) return outbox_.send(std::move(request), batch, to, reply);
            request.wait = false;  // no ack comes: answered once stored
            outbox_.send(std::move(request), batch, to,
                         std::make_shared<HeldSendReply>(reply, keys_.held_text(peer, spec)));
        });
}

void MessageRequests::stream_messages(std::shared_ptr<ReplySink> reply, MessageFilter filter,
                                      std::int64_t after_id, std::size_t remaining,
                                      StreamDone done) {
    if (!reader_ || !reply->is_open()) return;
    const auto rows =
        reader_->page(filter, after_id, std::min(remaining, kStreamPageRows), kStreamPageBytes);
    for (const auto& m : rows) reply->send_line(message_line(m));
    const std::int64_t last = rows.empty() ? after_id : rows.back().id;
    // Ends on an empty page: for a follower, that page and going live are
    // one handler, with nothing in between.
    if (rows.empty() || rows.size() == remaining) return done(last);
    reply->on_drained([this, reply, filter = std::move(filter), last, remaining,
                       done = std::move(done), sent = rows.size()]() mutable {
        stream_messages(reply, std::move(filter), last, remaining - sent, std::move(done));
    });
}

void MessageRequests::inbox(InboxRequest request, std::shared_ptr<ReplySink> reply) {
    peers_.with_peer_key(request.peer, reply, [this, request, reply](const std::string& peer) {
        MessageFilter filter{true, peer};
        const std::int64_t start = reader_->before_newest(filter, request.limit);
        if (!request.follow) {
            return stream_messages(reply, filter, start, request.limit,
                                   [reply](std::int64_t) { finish_ok(reply); });
        }
        // Following: the backlog, then whatever arrived meanwhile, then live.
        // The last (short) page and going live happen in one handler, and
        // new messages are posted here after their commit, so none is lost
        // between the two and last_id keeps any from showing twice.
        stream_messages(reply, filter, start, kUnlimited, [this, reply, peer](std::int64_t last) {
            followers_.add(reply, peer, last);
        });
    });
}

void MessageRequests::history(HistoryRequest request, std::shared_ptr<ReplySink> reply) {
    peers_.with_peer_key(request.peer, reply, [this, request, reply](const std::string& peer) {
        MessageFilter filter{false, peer};
        const std::int64_t start = reader_->before_newest(filter, request.limit);
        stream_messages(reply, filter, start, request.limit,
                        [reply](std::int64_t) { finish_ok(reply); });
    });
}

}  // namespace chat
