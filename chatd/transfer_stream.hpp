#pragma once
// The data path of a transfer, between a sending and a receiving worker,
// over one TCP connection per job. Both sides live here, so the byte
// protocol is in one place:
//
//   S: {"transfer":T,"token":K,"files":[i,...]}      read by the receiving daemon
//   R: {"resume":{"i":offset,...}}                    what it has of a file (none: 0)
//   S: {"file":i,"offset":o}  then size-o raw bytes  then {"hash":H}   (each file)
//   R: {"file":i,"ok":true} | {"file":i,"ok":false,"error":E[,"fatal":true]}
//   ... files that failed verification, once more from offset 0
//   S: {"end":true}
//
// Pipelined: the sender streams every file without waiting; verdicts come
// back in order, batched until the receiver would block for input, and the
// sender reads them whenever they are there (its writes poll for input, so
// neither side can block the other). H is XXH3-128 of the whole file: the
// receiver hashes its staged prefix plus what arrives, so a resumed file is
// verified end to end too. The per-file lines are common/stream_lines'.
//
// The sender is transfer_send.cpp, the receiver transfer_receive.cpp, what
// they share stream_io.*; each runs on the one thread of a worker process.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "worker_protocol.hpp"  // FailureKind, FileStamp, StreamFile

namespace chat {

// Bytes since the last call (negative when a file starts over), the files
// verified since the last call (reported in batches: one message per small
// file would cost more than the file), and how much of `bytes` the
// receiver had already (a resumed file's start: done, but not moved now).
using StreamProgress = std::function<void(
    std::int64_t bytes, const std::vector<std::size_t>& verified, std::uint64_t already_there)>;

// Why a stream failed: the text for the user, and its kind for the daemon
// (storage: ours; peer: the receiver's own, reported to the sender;
// protocol: a line that broke the protocol; other: worth resuming).
class StreamError : public std::runtime_error {
public:
    explicit StreamError(const std::string& what, FailureKind kind = FailureKind::other)
        : std::runtime_error(what), kind_(kind) {}
    FailureKind kind() const { return kind_; }

private:
    FailureKind kind_;
};

struct SendRequestParams {
    std::string host;
    std::uint16_t port = 0;
    std::string transfer;
    std::string token;
    std::vector<StreamFile> files;  // one source descriptor each, same order
    int timeout_seconds = 30;
    std::uint64_t max_bytes_per_second = 0;  // 0: as fast as it goes
    // While limited: asked between writes for a new limit (the job's share
    // of the transfer's limit changes as its other jobs start and end).
    std::function<std::optional<std::uint64_t>()> rate_updates;
};

// Connects, sends the files, returns how many bytes went over the wire.
// Throws StreamError saying what failed.
std::uint64_t send_files(const SendRequestParams& params, const std::vector<int>& sources,
                         const StreamProgress& progress);

// Serves one connection whose header line was already read: writes the
// files under the staging root and returns the indexes it verified.
// `fresh`: none of the files can be staged already, so none is looked up.
std::vector<std::size_t> receive_files(int socket, int staging_root,
                                       const std::vector<StreamFile>& files, int timeout_seconds,
                                       const StreamProgress& progress, bool fresh = false);

// Failures of the receiver's own storage (disk full, a refused path) start
// with this (FailureKind::storage); they are final, not worth resuming. The
// sender's text for them starts with kReceiverFailed (FailureKind::peer).
inline constexpr const char* kStorageFailure = "cannot store ";
inline constexpr const char* kReceiverFailed = "the receiver failed: ";

// The header line a sender starts with, as the receiving daemon reads it.
struct StreamHeader {
    std::string transfer;
    std::string token;
    std::vector<std::size_t> files;
};
std::string encode_stream_header(const StreamHeader& header);
StreamHeader decode_stream_header(const std::string& line);  // throws StreamError

}  // namespace chat
