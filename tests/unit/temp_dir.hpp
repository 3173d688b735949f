#pragma once
// A fresh directory under the system's temporary directory for one test,
// removed with everything in it when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace chat::test {

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& prefix) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        path = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace chat::test
