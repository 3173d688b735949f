// libFuzzer target: any bytes as a sealed packet. Decoding never throws;
// a packet that decodes encodes again to the same bytes; a data packet's
// open never throws and fails for a key that did not seal it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sealed_wire.hpp"

using namespace chat::crypto;

namespace {

std::string encode_again(const Packet& p) {
    switch (p.type) {
        case PacketType::xx_init:
        case PacketType::ik_init: {
            std::string out = encode_init(p.type, p.sender_index, p.noise);
            out.replace(out.size() - kMac2Len, kMac2Len,
                        reinterpret_cast<const char*>(p.mac2.data()), p.mac2.size());
            return out;
        }
        case PacketType::response:
            return encode_response(p.sender_index, p.receiver_index, p.noise);
        case PacketType::xx_final:
            return encode_xx_final(p.receiver_index, p.noise);
        case PacketType::cookie:
            return encode_cookie(p.receiver_index, p.cookie);
        case PacketType::data:
            return {};
    }
    return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const Packet p = decode_packet(bytes);
    if (p.error != PacketError::none) return 0;
    if (p.type == PacketType::data) {
        CipherState receive;
        receive.initialize_key(Key{});
        (void)open_data(receive, p);
        return 0;
    }
    if (encode_again(p) != bytes) std::abort();
    return 0;
}
