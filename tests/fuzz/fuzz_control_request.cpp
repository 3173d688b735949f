// libFuzzer target: a control request line from any local client. Bad
// input is a ProtocolError with a reason, nothing else; a request that
// parses encodes to one line that parses to the same request (a transfer:
// the request line and its manifest's line, or, for an older chatd, one
// line with the manifest as a field). The fast reader of flat objects reads
// nothing json would read otherwise.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control_protocol.hpp"
#include "flat_json.hpp"

namespace {

// What the daemon makes of an encoded request: its first line, and for a
// transfer whose manifest follows, the second line as the manifest.
chat::Request read_back(const std::string& encoded) {
    const auto end = encoded.find('\n');
    if (end == std::string::npos) std::abort();
    chat::Request request = chat::parse_request(std::string_view(encoded).substr(0, end));
    if (auto* t = std::get_if<chat::TransferRequest>(&request); t && t->manifest_follows) {
        const std::string_view rest = std::string_view(encoded).substr(end + 1);
        if (rest.find('\n') != rest.size() - 1) std::abort();
        t->manifest = std::string(rest.substr(0, rest.size() - 1));
        t->manifest_follows = false;
    } else if (end != encoded.size() - 1) {
        std::abort();
    }
    return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    if (const auto flat = chat::read_flat_object(line)) {
        const auto parsed = nlohmann::json::parse(line, nullptr, false);
        if (parsed.is_discarded() || !(parsed == *flat)) std::abort();
    }
    try {
        chat::Request request = chat::parse_request(line);
        // A request line that says its manifest follows stands for the
        // request with that (here empty) manifest.
        if (auto* t = std::get_if<chat::TransferRequest>(&request)) t->manifest_follows = false;
        if (!(read_back(chat::encode_request(request)) == request)) std::abort();
        if (const auto* t = std::get_if<chat::TransferRequest>(&request)) {
            const std::string older = chat::encode_transfer_request_with_manifest_field(*t);
            if (older.find('\n') != older.size() - 1) std::abort();
            if (!(chat::parse_request(older) == request)) std::abort();
        }
    } catch (const chat::ProtocolError&) {
    }
    return 0;
}
