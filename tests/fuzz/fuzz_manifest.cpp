// libFuzzer target: a transfer manifest from a hostile sender. It is
// refused with a ManifestError, or every entry it lets through has a safe
// relative path (and links stay inside) and it round-trips. The reader of
// encode_manifest's own layout and json's parser agree on every input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "manifest.hpp"
#include "transfer_paths.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto outcome = [](auto decode, std::string_view input) {
        std::pair<chat::Manifest, std::string> result;
        try {
            result.first = decode(input);
        } catch (const chat::ManifestError& e) {
            result.second = e.what();
        }
        return result;
    };
    const auto [manifest, error] = outcome(chat::decode_manifest, text);
    if (outcome(chat::detail::decode_manifest_generic, text) != std::pair(manifest, error))
        std::abort();
    if (!error.empty()) return 0;
    for (const auto& entry : manifest.entries) {
        if (chat::check_relative_path(entry.path)) std::abort();
    }
    const std::string encoded = chat::encode_manifest(manifest);
    if (!(chat::decode_manifest(encoded) == manifest)) std::abort();
    if (!(chat::detail::decode_manifest_generic(encoded) == manifest)) std::abort();
    return 0;
}
