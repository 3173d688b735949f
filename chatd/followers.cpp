#include "followers.hpp"

#include <nlohmann/json.hpp>

namespace chat {

std::string message_line(const MessageView& message) {
    return reply_line(nlohmann::json{{"message", message_to_json(message)}});
}

void Followers::add(std::shared_ptr<ReplySink> reply, std::string peer, std::int64_t last_id) {
    followers_.push_back({std::move(reply), std::move(peer), last_id});
}

void Followers::deliver(const MessageView& message) {
    prune();
    for (auto& follower : followers_) {
        if (message.id <= follower.last_id) continue;
        if (!follower.peer.empty() && follower.peer != message.peer) continue;
        follower.reply->send_line(message_line(message));
        follower.last_id = message.id;
    }
}

void Followers::notify(const std::string& line, const std::string& peer) {
    prune();
    for (auto& follower : followers_) {
        if (follower.peer.empty() || peer.empty() || follower.peer == peer)
            follower.reply->send_line(line);
    }
}

std::size_t Followers::count() {
    prune();
    return followers_.size();
}

void Followers::prune() {
    std::erase_if(followers_, [](const Follower& f) { return !f.reply->is_open(); });
}

}  // namespace chat
