#pragma once
// Each transfer job's parameters and result, as typed structs, with the
// encoder beside its decoder. The daemon encodes, a worker decodes the
// parameters; the other way for results. The bytes are what chatd wrote
// by hand before (the files in append_job_file's layout, which
// decode_transfer_job reads without a json document). Pure codec.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "worker_protocol.hpp"

namespace chat {

// "send": streams the files (their descriptors ride with the job) over a
// TCP connection of its own to the receiver at host:port.
struct SendJobParams {
    std::vector<StreamFile> files;  // no stamps: the receiver has them
    std::string host;
    std::uint16_t port = 0;
    std::string transfer;  // the shared id
    std::string token;     // the receiver's one-time token
    int timeout_seconds = 30;
    std::uint64_t max_rate = 0;  // bytes per second; 0: none
    bool operator==(const SendJobParams&) const = default;
};

// "receive": serves one accepted data connection (its socket and the
// staging root ride with the job).
struct ReceiveJobParams {
    std::vector<StreamFile> files;
    // No file of the job can have staged bytes yet (none named before, no
    // restart since): nothing to hash before writing.
    bool fresh = false;
    int timeout_seconds = 30;
    bool operator==(const ReceiveJobParams&) const = default;
};

std::string encode_send_job(const SendJobParams& params);
std::string encode_receive_job(const ReceiveJobParams& params);
// Throw WorkerProtocolError for what is not an object, json's exceptions
// for a missing or mistyped field (as decode_transfer_job).
SendJobParams decode_send_job(std::string_view params_json);
ReceiveJobParams decode_receive_job(std::string_view params_json);

// What a send job reports when done: the bytes it put on the wire.
struct SendJobResult {
    std::uint64_t wire_bytes = 0;
    bool operator==(const SendJobResult&) const = default;
};
// What a receive job reports when done: the files it verified.
struct ReceiveJobResult {
    std::vector<std::size_t> verified;
    bool operator==(const ReceiveJobResult&) const = default;
};

std::string encode_send_result(const SendJobResult& result);
std::string encode_receive_result(const ReceiveJobResult& result);
// A send result that is not an object counts as no bytes (as before);
// a receive result without its list throws (a worker's bug).
SendJobResult decode_send_result(std::string_view result_json);
ReceiveJobResult decode_receive_result(std::string_view result_json);

}  // namespace chat
