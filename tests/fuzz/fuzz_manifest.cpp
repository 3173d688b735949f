// libFuzzer target: a transfer manifest from a hostile sender. It is
// refused with a ManifestError, or every entry it lets through has a safe
// relative path (and links stay inside) and it round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "manifest.hpp"
#include "transfer_paths.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    chat::Manifest manifest;
    try {
        manifest = chat::decode_manifest(text);
    } catch (const chat::ManifestError&) {
        return 0;
    }
    for (const auto& entry : manifest.entries) {
        if (chat::check_relative_path(entry.path)) std::abort();
    }
    if (!(chat::decode_manifest(chat::encode_manifest(manifest)) == manifest)) std::abort();
    return 0;
}
