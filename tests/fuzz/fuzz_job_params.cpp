// libFuzzer target: a transfer job's parameters, as a worker reads them.
// Whatever the reader of append_job_file's layout takes, json's parser
// takes too, to the same files and members; everything else goes to json.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "worker_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<chat::StreamFile> files;
    nlohmann::json rest;
    if (!chat::detail::read_transfer_job_in_layout(text, files, rest)) return 0;
    nlohmann::json rest_by_json;
    std::vector<chat::StreamFile> by_json;
    try {
        by_json = chat::detail::decode_transfer_job_with_json(text, rest_by_json);
    } catch (...) {
        std::abort();  // the reader took what json refuses
    }
    if (by_json != files || rest_by_json != rest) std::abort();
    return 0;
}
