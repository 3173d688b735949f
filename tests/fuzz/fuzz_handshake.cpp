// libFuzzer target: handshake messages as a responder reads them. The
// input is split into a first message (an init, XX or IK by its type
// byte) and a last one (XX msg3); every failure is a NoiseError, never a
// crash, and nothing is accepted without the MAC a real peer computes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sealed_wire.hpp"

using namespace chat::crypto;

namespace {

HandshakeState responder(Pattern pattern) {
    static const KeyPair local = KeyPair::from_private(Key{1, 2, 3});
    return HandshakeState(HandshakeConfig{pattern, Role::responder,
                                          Bytes(kPrologue.begin(), kPrologue.end()), local,
                                          std::nullopt, std::nullopt});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::size_t init_len =
        !bytes.empty() && static_cast<std::uint8_t>(bytes[0]) == 0xF9 ? kIkInitLen : kXxInitLen;
    const Packet init = decode_packet(bytes.substr(0, init_len));
    if (init.error != PacketError::none ||
        (init.type != PacketType::xx_init && init.type != PacketType::ik_init))
        return 0;
    const Pattern pattern = init.type == PacketType::ik_init ? Pattern::ik : Pattern::xx;
    HandshakeState state = responder(pattern);
    try {
        state.read_message(init.noise);
        // IK msg1 carries an AEAD over the initiator's key: fuzzed bytes never pass it.
        if (pattern == Pattern::ik) std::abort();
        (void)state.write_message({});
        const Packet last = decode_packet(bytes.substr(init_len));
        if (last.error != PacketError::none || last.type != PacketType::xx_final) return 0;
        state.read_message(last.noise);
        std::abort();  // msg3 is sealed with keys the fuzzer cannot know
    } catch (const NoiseError&) {
    }
    return 0;
}
