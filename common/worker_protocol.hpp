#pragma once
// Messages between chatd and its worker processes, one per SOCK_SEQPACKET
// packet (descriptors ride along as SCM_RIGHTS). Down: a job, as a header
// line and the kind's parameters. Up: progress reports, then one final
// report. Pure codec; the I/O is in chatd/.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

struct WorkerJob {
    std::uint64_t id = 0;
    std::string kind;         // e.g. "hash"
    std::string params_json;  // the kind's own parameters, a JSON object, passed as written
    bool operator==(const WorkerJob&) const = default;
};

struct WorkerReport {
    enum class Type { progress, done, failed };
    std::uint64_t job = 0;
    Type type = Type::progress;
    std::int64_t bytes = 0;               // progress: bytes since the last report (may be negative)
    std::uint64_t files = 0;              // progress: files finished since the last report
    std::vector<std::uint64_t> verified;  // progress: which files (transfer jobs only)
    std::string result_json;              // done: the kind's result, a JSON object
    std::string error;                    // failed: why
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
std::string encode_report(const WorkerReport& report);
WorkerReport decode_report(std::string_view bytes);

}  // namespace chat
