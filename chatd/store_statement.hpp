#pragma once
// The store's prepared statements (chatd/store.cpp only): one SQLite
// connection's cache of them, used on that connection's thread.
#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

#include "store.hpp"

namespace chat {

// A prepared statement from the connection's cache: prepared once per SQL
// text (parsing SQL was a fifth of the store's time under load), reset and
// unbound when done with, finalized when the connection closes.
class Statement {
public:
    Statement(sqlite3* db, std::unordered_map<std::string, sqlite3_stmt*>& cache,
              const std::string& sql)
        : db_(db) {
        if (const auto it = cache.find(sql); it != cache.end()) {
            stmt_ = it->second;
            return;
        }
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
            throw StoreError(std::string("store: ") + sqlite3_errmsg(db));
        }
        cache.emplace(sql, stmt_);
    }
    ~Statement() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, const std::string& value) {
        sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT);
        return *this;
    }
    Statement& bind(int index, std::int64_t value) {
        sqlite3_bind_int64(stmt_, index, value);
        return *this;
    }
    template <std::size_t N>
    Statement& bind(int index, const std::array<std::uint8_t, N>& bytes) {
        sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(N), SQLITE_TRANSIENT);
        return *this;
    }
    template <std::size_t N>
    Statement& bind(int index, const std::optional<std::array<std::uint8_t, N>>& bytes) {
        return bytes ? bind(index, *bytes) : bind_null(index);
    }
    Statement& bind_null(int index) {
        sqlite3_bind_null(stmt_, index);
        return *this;
    }
    // True while there is a row.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreError(std::string("store: ") + sqlite3_errmsg(db_));
    }
    // For a write: false if a constraint refused it (the statement's
    // changes are then undone), true once done.
    bool step_unless_constrained() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_DONE) return true;
        if ((rc & 0xff) == SQLITE_CONSTRAINT) return false;
        throw StoreError(std::string("store: ") + sqlite3_errmsg(db_));
    }
    std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }
    sqlite3_stmt* handle() { return stmt_; }
    // A blob column of exactly N bytes; nullopt for NULL or another size.
    template <std::size_t N>
    std::optional<std::array<std::uint8_t, N>> blob(int column) {
        std::array<std::uint8_t, N> bytes{};
        const void* data = sqlite3_column_blob(stmt_, column);
        if (data == nullptr || sqlite3_column_bytes(stmt_, column) != static_cast<int>(N))
            return std::nullopt;
        std::memcpy(bytes.data(), data, N);
        return bytes;
    }
    std::string text(int column) {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return data ? std::string(data,
                                  static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                    : std::string();
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace chat
