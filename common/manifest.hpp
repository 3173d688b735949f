#pragma once
// What a transfer offers: every directory, file and symlink with its
// relative path, size, mode and mtime. Encoded as JSON; decoding checks
// every entry (names, link targets, parents) so a forged manifest is
// refused before anything is written.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

enum class EntryType { directory, file, symlink };

struct ManifestEntry {
    EntryType type = EntryType::file;
    std::string path;        // relative, '/'-separated
    std::uint64_t size = 0;  // files
    std::uint32_t mode = 0;  // permission bits only (no setuid, setgid, sticky)
    std::int64_t mtime_ns = 0;
    std::string link_target;  // symlinks
    bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
    std::vector<ManifestEntry> entries;
    bool operator==(const Manifest&) const = default;

    std::uint64_t total_bytes() const;
    std::size_t file_count() const;
    // The names at the top of the tree, as offered ("photos", "notes.txt").
    std::vector<std::string> top_level_names() const;
};

class ManifestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxManifestEntries = 10'000'000;
inline constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 50;  // 1 PiB

std::string encode_manifest(const Manifest& manifest);
// Throws ManifestError naming the entry and what is wrong with it.
Manifest decode_manifest(std::string_view json);

namespace detail {
// Through json's parser alone, without the reader of encode_manifest's own
// layout: for the tests and the fuzzer, which check both agree.
Manifest decode_manifest_generic(std::string_view json);
}  // namespace detail

}  // namespace chat
