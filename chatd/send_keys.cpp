#include "send_keys.hpp"

#include <algorithm>

#include "sealed_wire.hpp"

namespace chat {

void SendKeys::take_new_keys() {
    if (handed_.load(std::memory_order_acquire) == taken_) return;
    std::vector<SendKey> fresh;
    taken_ += mailbox_.try_pop_batch(fresh, 1024);
    for (SendKey& key : fresh) {
        const auto same = std::find_if(keys_.begin(), keys_.end(),
                                       [&](const SendKey& k) { return k.peer == key.peer; });
        if (same == keys_.end()) {
            keys_.push_back(std::move(key));
        } else if (key.birth >= same->birth) {
            *same = std::move(key);
        }
    }
}

bool SendKeys::seal(const std::string& peer, std::string_view inner, std::string& out) {
    take_new_keys();
    const auto key =
        std::find_if(keys_.begin(), keys_.end(), [&](const SendKey& k) { return k.peer == peer; });
    if (key == keys_.end()) return false;
    if (SealClock::now() - key->birth >= reject_after_ ||
        key->counter >= crypto::kRejectAfterCounter) {
        keys_.erase(key);
        return false;
    }
    crypto::seal_data(key->cipher, key->remote_index, key->counter++, inner, out);
    return true;
}

}  // namespace chat
