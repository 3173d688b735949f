#pragma once
// The control requests about peers' keys: `verify` (the safety number of
// our key and the peer's, and with confirm, the pin marked verified) and
// `trust` (a key pinned by its fingerprint). Control thread only.
#include <memory>

#include "control_protocol.hpp"
#include "control_server.hpp"

namespace chat {

class Identity;
class PeerDirectory;
class PeerKeys;

class TrustRequests {
public:
    TrustRequests(PeerDirectory& peers, PeerKeys& keys) : peers_(peers), keys_(keys) {}

    // verify needs our own key; until start() (and after stop) it answers
    // failed, "chatd is stopping".
    void start(const Identity& identity) { identity_ = &identity; }
    void stop() { identity_ = nullptr; }

    void verify(VerifyRequest request, std::shared_ptr<ReplySink> reply);
    void trust(TrustRequest request, std::shared_ptr<ReplySink> reply);

private:
    PeerDirectory& peers_;
    PeerKeys& keys_;
    const Identity* identity_ = nullptr;
};

}  // namespace chat
