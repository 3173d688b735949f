#pragma once
// The `inbox --follow` subscriptions: each gets the messages stored after
// the backlog it was sent, and the transfer events. Control thread only.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "control_protocol.hpp"
#include "control_server.hpp"

namespace chat {

// A message as one protocol line ({"message":{...}}).
std::string message_line(const MessageView& message);

class Followers {
public:
    // `peer` empty: every peer's; `last_id`: the last message it was sent.
    void add(std::shared_ptr<ReplySink> reply, std::string peer, std::int64_t last_id);
    // A message just stored (or released from a hold).
    void deliver(const MessageView& message);
    // An event line to those following `peer` (empty: to every follower).
    void notify(const std::string& line, const std::string& peer);
    // How many are still connected.
    std::size_t count();
    void clear() { followers_.clear(); }

private:
    struct Follower {
        std::shared_ptr<ReplySink> reply;
        std::string peer;  // empty: all
        std::int64_t last_id = 0;
    };
    void prune();

    std::vector<Follower> followers_;
};

}  // namespace chat
