#include "peer_modes.hpp"

namespace chat {

std::string_view to_string(PeerSpeech speech) {
    switch (speech) {
        case PeerSpeech::chatd:
            return "chatd";
        case PeerSpeech::plain:
            return "plain";
        case PeerSpeech::both:
            return "both";
    }
    return "plain";
}

PeerSpeech PeerModes::speech() const {
    if (!envelope) return PeerSpeech::plain;
    return plain ? PeerSpeech::both : PeerSpeech::chatd;
}

}  // namespace chat
