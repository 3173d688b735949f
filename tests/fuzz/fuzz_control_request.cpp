// libFuzzer target: a control request line from any local client. Bad
// input is a ProtocolError with a reason, nothing else; a request that
// parses encodes to one line that parses to the same request. The fast
// reader of flat objects reads nothing json would read otherwise.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control_protocol.hpp"
#include "flat_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    if (const auto flat = chat::read_flat_object(line)) {
        const auto parsed = nlohmann::json::parse(line, nullptr, false);
        if (parsed.is_discarded() || !(parsed == *flat)) std::abort();
    }
    try {
        const chat::Request request = chat::parse_request(line);
        const std::string encoded = chat::encode_request(request);
        if (encoded.find('\n') != encoded.size() - 1) std::abort();
        if (!(chat::parse_request(encoded) == request)) std::abort();
    } catch (const chat::ProtocolError&) {
    }
    return 0;
}
