#pragma once
// The control requests about messages: `send` (checked, resolved, then
// handed to the outbox), `inbox` (with --follow, handed to the followers
// once its backlog is out) and `history`, paged from the control thread's
// read connection at the pace the client reads. Control thread only.
#include <cstdint>
#include <functional>
#include <memory>

#include "control_protocol.hpp"
#include "control_server.hpp"
#include "store.hpp"

namespace chat {

class Followers;
class Outbox;
class PeerDirectory;
class PeerKeys;

class MessageRequests {
public:
    MessageRequests(PeerDirectory& peers, Outbox& outbox, Followers& followers,
                    const PeerKeys& keys);

    // Listings read `reader` until stop().
    void start(Store& reader) { reader_ = &reader; }
    void stop() { reader_ = nullptr; }

    void send(SendRequest request, std::shared_ptr<ReplySink> reply);
    void inbox(InboxRequest request, std::shared_ptr<ReplySink> reply);
    void history(HistoryRequest request, std::shared_ptr<ReplySink> reply);

private:
    using StreamDone = std::function<void(std::int64_t last_id)>;
    // Sends matching messages after after_id, a page at a time, each page
    // once the client has taken the previous one; `done` runs after an
    // empty page or `remaining` messages.
    void stream_messages(std::shared_ptr<ReplySink> reply, MessageFilter filter,
                         std::int64_t after_id, std::size_t remaining, StreamDone done);

    PeerDirectory& peers_;
    Outbox& outbox_;
    Followers& followers_;
    const PeerKeys& keys_;
    Store* reader_ = nullptr;
};

}  // namespace chat
