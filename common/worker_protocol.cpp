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

json parse_params(const std::string& text) {
    if (text.empty()) return json::object();
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        throw WorkerProtocolError("parameters are not a JSON object");
    return doc;
}

}  // namespace

std::string encode_job(const WorkerJob& job) {
    // The parameters go in as they are written (a job's file list is tens
    // of kilobytes): checked, not parsed into a document and dumped again.
    const std::size_t first = job.params_json.find_first_not_of(" \t\r\n");
    if (first != std::string::npos &&
        (job.params_json[first] != '{' || !json::accept(job.params_json)))
        throw WorkerProtocolError("parameters are not a JSON object");
    std::string out = json{{"job", job.id}, {"kind", job.kind}}.dump();
    out.pop_back();
    out += R"(,"params":)";
    out += first == std::string::npos ? "{}" : job.params_json;
    out += '}';
    return out;
}

WorkerJob decode_job(std::string_view bytes) {
    const json doc = parse_object(bytes, "job");
    try {
        WorkerJob job;
        job.id = doc.at("job").get<std::uint64_t>();
        job.kind = doc.at("kind").get<std::string>();
        const auto params = doc.find("params");
        job.params_json = params == doc.end() ? "{}" : params->dump();
        return job;
    } catch (const json::exception&) {
        throw WorkerProtocolError("job without a valid 'job' id or 'kind'");
    }
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
            doc["done"] = parse_params(r.result_json);
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
