#include "peer_modes.hpp"

#include <utility>

#include "enum_names.hpp"

namespace chat {

namespace {
constexpr std::pair<PeerSpeech, std::string_view> kPeerSpeechNames[] = {
    {PeerSpeech::chatd, "chatd"}, {PeerSpeech::plain, "plain"}, {PeerSpeech::both, "both"}};
}  // namespace

std::string_view to_string(PeerSpeech speech) { return name_in(kPeerSpeechNames, speech, "plain"); }

PeerSpeech PeerModes::speech() const {
    if (!envelope) return PeerSpeech::plain;
    return plain ? PeerSpeech::both : PeerSpeech::chatd;
}

}  // namespace chat
