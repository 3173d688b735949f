#include "worker_protocol.hpp"

#include <nlohmann/json.hpp>

namespace chat {
namespace {

using nlohmann::json;

json parse_object(std::string_view bytes, const char* what) {
    json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        throw WorkerProtocolError(std::string(what) + " is not a JSON object");
    }
    return doc;
}

}  // namespace

std::string encode_job(const WorkerJob& job) {
    // A header line, then the parameters as they were written (a job's file
    // list is tens of kilobytes): parsed once, by the worker that uses them.
    std::string out = json{{"job", job.id}, {"kind", job.kind}}.dump();
    out += '\n';
    out +=
        job.params_json.find_first_not_of(" \t\r\n") == std::string::npos ? "{}" : job.params_json;
    return out;
}

WorkerJob decode_job(std::string_view bytes) {
    const std::size_t newline = bytes.find('\n');
    const json header = parse_object(bytes.substr(0, newline), "job");
    try {
        WorkerJob job;
        job.id = header.at("job").get<std::uint64_t>();
        job.kind = header.at("kind").get<std::string>();
        job.params_json = newline == std::string_view::npos ? "{}" : bytes.substr(newline + 1);
        return job;
    } catch (const json::exception&) {
        throw WorkerProtocolError("job without a valid 'job' id or 'kind'");
    }
}

json parse_job_params(std::string_view params_json) {
    if (params_json.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
    json doc = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        throw WorkerProtocolError("parameters are not a JSON object");
    return doc;
}

std::string encode_report(const WorkerReport& r) {
    json doc = {{"job", r.job}};
    switch (r.type) {
        case WorkerReport::Type::progress:
            doc["progress"] = r.bytes;
            doc["files"] = r.files;
            if (!r.verified.empty()) doc["verified"] = r.verified;
            break;
        case WorkerReport::Type::done:
            doc["done"] = parse_job_params(r.result_json);
            break;
        case WorkerReport::Type::failed:
            doc["failed"] = r.error;
            break;
    }
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

WorkerReport decode_report(std::string_view bytes) {
    const json doc = parse_object(bytes, "report");
    try {
        WorkerReport r;
        r.job = doc.at("job").get<std::uint64_t>();
        if (const auto it = doc.find("progress"); it != doc.end()) {
            r.type = WorkerReport::Type::progress;
            r.bytes = it->get<std::int64_t>();
            r.files = doc.value("files", std::uint64_t{0});
            if (const auto verified = doc.find("verified"); verified != doc.end())
                r.verified = verified->get<std::vector<std::uint64_t>>();
        } else if (const auto done = doc.find("done"); done != doc.end()) {
            r.type = WorkerReport::Type::done;
            r.result_json = done->dump();
        } else {
            r.type = WorkerReport::Type::failed;
            r.error = doc.at("failed").get<std::string>();
        }
        return r;
    } catch (const json::exception&) {
        throw WorkerProtocolError("report without a valid job id, progress, done or failed");
    }
}

}  // namespace chat
