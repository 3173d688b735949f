// libFuzzer target: anything a peer can put in a UDP datagram, a bundle of
// envelopes included. Decoding never throws; whatever decodes must encode
// again to something that decodes to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "envelope.hpp"
#include "text.hpp"

namespace {

void check_round_trip(const chat::DecodedDatagram& d) {
    if (d.kind == chat::DatagramKind::message) {
        const auto again =
            chat::decode_datagram(chat::encode_message(d.id, d.text, d.name, d.order));
        if (again.kind != d.kind || again.text != d.text || again.id != d.id ||
            !(again.order == d.order))
            std::abort();
    } else if (d.kind == chat::DatagramKind::offer) {
        const auto again = chat::decode_datagram(chat::encode_offer(d.id, d.offer, d.name));
        if (again.kind != d.kind || !(again.offer == d.offer)) std::abort();
    } else if (d.kind == chat::DatagramKind::answer) {
        const auto again = chat::decode_datagram(chat::encode_answer(d.id, d.answer));
        if (again.kind != d.kind || !(again.answer == d.answer)) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A single envelope: the fast path for chatd's own layout must agree
    // with the generic parser.
    if (bytes.starts_with('{') && bytes.find('\n') == std::string_view::npos &&
        chat::is_valid_utf8(bytes) && chat::trim(bytes) == bytes) {
        const auto fast = chat::decode_datagram(bytes);
        const auto generic = chat::detail::decode_envelope_generic(bytes);
        if (fast.kind != generic.kind || fast.id != generic.id || fast.text != generic.text ||
            fast.name != generic.name || !(fast.order == generic.order) ||
            fast.error != generic.error)
            std::abort();
    }
    const auto decoded = chat::decode_datagrams(bytes);
    if (decoded.empty() || decoded.size() > chat::kMaxBundled) std::abort();
    for (const auto& d : decoded) check_round_trip(d);
    return 0;
}
