#pragma once
// Messages between chatd and its worker processes, one per SOCK_SEQPACKET
// packet (descriptors ride along as SCM_RIGHTS). Down: a job, as a header
// line and the kind's parameters. Up: progress reports, then one final
// report. Pure codec; the I/O is in chatd/.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

// What a worker does with a job. On the wire the job's "kind" is its name;
// a name none of these is a job the worker fails as a protocol error.
enum class JobKind { hash, send, receive, sync };
// The one place the names are written: "hash", "send", "receive", "sync".
std::string_view to_string(JobKind kind);
// nullopt for a name that is none of the above.
std::optional<JobKind> job_kind_from_string(std::string_view name);

struct WorkerJob {
    std::uint64_t id = 0;
    std::string kind;         // to_string(JobKind), as received (may be unknown)
    std::string params_json;  // the kind's own parameters, a JSON object, passed as written
    bool operator==(const WorkerJob&) const = default;
};

// Why a job failed, so the daemon decides on a kind, never on the text:
//   storage:   this side's disk (full, read-only, an I/O error); the
//              transfer fails at once, naming the file.
//   peer:      the other side refused for good (its disk, its policy);
//              retrying cannot help.
//   cancelled: the job was told to stop.
//   sync:      the received files could not be made durable (fsync/syncfs).
//   protocol:  a message from the peer or the daemon made no sense.
//   other:     anything else (a connection lost, a timeout): worth a retry.
enum class FailureKind { other, storage, peer, cancelled, sync, protocol };
std::string_view to_string(FailureKind kind);
// nullopt for a name that is none of the above.
std::optional<FailureKind> failure_kind_from_string(std::string_view name);

struct WorkerReport {
    enum class Type { progress, done, failed };
    std::uint64_t job = 0;
    Type type = Type::progress;
    std::int64_t bytes = 0;               // progress: bytes since the last report (may be negative)
    std::uint64_t files = 0;              // progress: files finished since the last report
    std::vector<std::uint64_t> verified;  // progress: which files (transfer jobs only)
    std::string result_json;              // done: the kind's result, a JSON object
    std::string error;                    // failed: why
    // progress: of `bytes`, what the receiver had already (a resume): done,
    // but not moved now, so not part of the rate.
    std::uint64_t already_there = 0;
    FailureKind failure = FailureKind::other;  // failed: what kind of failure
    bool operator==(const WorkerReport&) const = default;
};

class WorkerProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxWorkerMessageBytes = 128 * 1024;
inline constexpr std::size_t kMaxFdsPerMessage = 250;  // under the kernel's SCM_MAX_FD (253)

std::string encode_job(const WorkerJob& job);
WorkerJob decode_job(std::string_view bytes);
// A job's parameters (or a done report's result), read where they are
// used: blank is {}; throws WorkerProtocolError for anything but an object.
nlohmann::json parse_job_params(std::string_view params_json);
// Down, while a send job runs: its new share of the transfer's rate limit
// (bytes per second; 0: none), {"job":id,"rate":N}. nullopt for any other
// message, e.g. a job.
struct WorkerRate {
    std::uint64_t job = 0;
    std::uint64_t bytes_per_second = 0;
    bool operator==(const WorkerRate&) const = default;
};
std::string encode_rate(const WorkerRate& rate);
std::optional<WorkerRate> decode_rate(std::string_view bytes);
std::string encode_report(const WorkerReport& report);
WorkerReport decode_report(std::string_view bytes);

// A file of a transfer job (a worker's send or receive).
struct FileStamp {
    std::uint32_t mode = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

struct StreamFile {
    std::size_t index = 0;
    std::string path;  // relative, for messages and the staging tree
    std::uint64_t size = 0;
    // Receiving: set on the file once it is verified (through its open
    // descriptor), so publishing the tree costs no syscalls per file.
    std::optional<FileStamp> stamp;
    bool operator==(const StreamFile&) const = default;
};

// A transfer job's parameters begin with its "files", one object each:
//   {"i":INDEX[,"m":MODE,"mt":MTIME_NS],"path":"P","size":BYTES}
// Appends one (after the array's "[" or after another file). `path` must
// be valid UTF-8, as a manifest's paths are.
void append_job_file(std::string& out, std::size_t index, std::string_view path, std::uint64_t size,
                     const FileStamp* stamp);
// The files, and the other members into `rest`. A job lists up to 250
// files, and json's parser was a tenth of a worker's own CPU on small
// files: parameters in append_job_file's layout are read without a json
// document, anything else with json, to the same result. Throws
// WorkerProtocolError if they are not an object, json's exceptions for a
// missing or mistyped field.
std::vector<StreamFile> decode_transfer_job(std::string_view params_json, nlohmann::json& rest);

namespace detail {
// The two halves of decode_transfer_job, for tests that compare them: the
// reader of the layout (false for anything else), and json's.
bool read_transfer_job_in_layout(std::string_view params_json, std::vector<StreamFile>& files,
                                 nlohmann::json& rest);
std::vector<StreamFile> decode_transfer_job_with_json(std::string_view params_json,
                                                      nlohmann::json& rest);
}  // namespace detail

}  // namespace chat
