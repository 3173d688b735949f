// libFuzzer target: a control request line from any local client. Bad
// input is a ProtocolError with a reason, nothing else; a request that
// parses encodes to one line that parses to the same request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    try {
        const chat::Request request = chat::parse_request(line);
        const std::string encoded = chat::encode_request(request);
        if (encoded.find('\n') != encoded.size() - 1) std::abort();
        if (!(chat::parse_request(encoded) == request)) std::abort();
    } catch (const chat::ProtocolError&) {
    }
    return 0;
}
