// The SQLite store, on a real file in a fresh temporary directory.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "store.hpp"
#include "temp_dir.hpp"

using namespace chat;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
    TempDir() : test::TempDir("chatd-store") {}
    std::string db() const { return (path / "chatd.db").string(); }
};

// The newest n matching messages, oldest first, as the daemon lists them.
std::vector<MessageView> newest(Store& store, const MessageFilter& filter, std::size_t n) {
    return store.page(filter, store.before_newest(filter, n), n);
}

const MessageFilter kReceived{true, ""};
const MessageFilter kAll{false, ""};

IncomingMessage incoming(std::string peer, std::string id, std::string text, std::int64_t ts = 1) {
    return {std::move(peer), "", std::move(id), std::move(text), false, ts, "", 0, 0};
}

// The single number a query over the file gives, read past the Store.
int count_rows(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const int n = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return n;
}

}  // namespace

TEST_SUITE("store") {
    TEST_CASE("a peer's message id is stored once; plain messages always") {
        TempDir dir;
        Store store(dir.db());
        CHECK(store.insert_incoming(incoming("a:1", "0123456789abcdef", "hi")).has_value());
        CHECK_FALSE(store.insert_incoming(incoming("a:1", "0123456789abcdef", "hi")).has_value());
        CHECK(store.insert_incoming(incoming("b:1", "0123456789abcdef", "same id, other peer"))
                  .has_value());
        IncomingMessage plain = incoming("c:1", "", "plain");
        plain.plain = true;
        CHECK(store.insert_incoming(plain).has_value());
        CHECK(store.insert_incoming(plain).has_value());
        CHECK(newest(store, kReceived, 100).size() == 4);
    }

    TEST_CASE("listing: newest N, oldest first, by peer, in pages") {
        TempDir dir;
        Store store(dir.db());
        for (int i = 0; i < 5; ++i) {
            store.insert_incoming(incoming(i % 2 ? "odd:1" : "even:1",
                                           "00000000000000a" + std::to_string(i),
                                           "m" + std::to_string(i)));
        }
        store.insert_outgoing({"odd:1", "11111111111111111", "sent", false, 1, 2, "queued"});

        const auto last3 = newest(store, kReceived, 3);
        REQUIRE(last3.size() == 3);
        CHECK(last3[0].text == "m2");
        CHECK(last3[2].text == "m4");
        const auto odd = newest(store, {true, "odd:1"}, 10);
        REQUIRE(odd.size() == 2);
        CHECK(odd[0].text == "m1");
        CHECK(newest(store, {false, "odd:1"}, 10).back().text == "sent");
        CHECK(newest(store, kAll, 100).size() == 6);

        // Zero starts after the newest, so a follower sees only what is new.
        CHECK(store.page(kReceived, store.before_newest(kReceived, 0), 10).empty());
        // Paging forward from an id.
        const auto first2 = store.page(kAll, 0, 2);
        REQUIRE(first2.size() == 2);
        const auto next2 = store.page(kAll, first2.back().id, 2);
        REQUIRE(next2.size() == 2);
        CHECK(next2[0].id > first2[1].id);
    }

    TEST_CASE("received rows go in together; one stored already is told apart") {
        TempDir dir;
        Store store(dir.db());
        store.begin();
        REQUIRE(store.insert_incoming(incoming("p:1", "stored-before", "old")));
        std::vector<IncomingMessage> arrived;
        for (std::size_t i = 0; i < Store::kRowsPerInsert + 10; ++i)
            arrived.push_back(
                incoming("p:1", "id" + std::to_string(i), "text " + std::to_string(i)));
        IncomingMessage plain = incoming("p:1", "", "plain, twice");
        plain.plain = true;
        arrived.push_back(plain);
        arrived.push_back(plain);
        // In the second statement: one stored before, one twice in the batch.
        arrived.push_back(incoming("p:1", "stored-before", "old again"));
        arrived.push_back(incoming("p:1", "id3", "text 3 again"));
        arrived.push_back(incoming("q:1", "id3", "another peer's id3"));
        std::vector<const IncomingMessage*> batch;
        for (const auto& m : arrived) batch.push_back(&m);
        const auto rows = store.insert_incoming_rows(batch);
        store.commit();
        REQUIRE(rows.size() == arrived.size());
        const std::size_t n = arrived.size();
        CHECK_FALSE(rows[n - 3]);  // stored before
        CHECK_FALSE(rows[n - 2]);  // earlier in this batch
        REQUIRE(rows[n - 1]);
        REQUIRE(rows[n - 4]);
        REQUIRE(rows[n - 5]);
        CHECK(*rows[n - 4] != *rows[n - 5]);  // plain text is never a duplicate
        // Each id is its own message's, in both statements.
        const auto all = newest(store, MessageFilter{true, ""}, 1000);
        std::map<std::int64_t, std::string> text_of;
        for (const auto& m : all) text_of[m.id] = m.text;
        CHECK(all.size() == n - 2 + 1);  // the old one, less the two duplicates
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(i);
            if (rows[i]) CHECK(text_of.at(*rows[i]) == arrived[i].text);
        }
    }

    TEST_CASE("a send's rows go in together, each id its own message's") {
        // More than one statement's worth, after rows of other kinds, so the
        // ids are worked out across chunks and not from the table's start.
        TempDir dir;
        Store store(dir.db());
        store.begin();
        store.insert_incoming(incoming("p:1", "00000000000000001", "before", 1));
        store.insert_outgoing({"p:1", "", "plain before", true, 2, 1000, "sent", 0});
        std::vector<OutgoingMessage> batch;
        for (std::size_t i = 0; i < Store::kRowsPerInsert + 6; ++i) {
            batch.push_back({"p:1", "id" + std::to_string(i), "text " + std::to_string(i), false,
                             static_cast<std::int64_t>(10 + i), 1000, "queued", i + 1});
        }
        const auto rows = store.insert_outgoing_rows(batch);
        store.commit();
        REQUIRE(rows.size() == batch.size());
        const auto pending = store.pending();
        REQUIRE(pending.size() == batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            CAPTURE(i);
            CHECK(pending[i].id == rows[i]);
            CHECK(pending[i].msg_id == batch[i].msg_id);
            CHECK(pending[i].text == batch[i].text);
            CHECK(pending[i].seq == batch[i].seq);
        }
        CHECK(store.insert_outgoing_rows({}).empty());
    }

    TEST_CASE("the outbox: queued until delivered or expired, and it survives reopening") {
        TempDir dir;
        std::int64_t first = 0;
        {
            Store store(dir.db());
            store.begin();
            first = store.insert_outgoing(
                {"p:1", "11111111111111111", "one", false, 10, 1000, "queued", 1});
            store.insert_outgoing(
                {"p:1", "22222222222222222", "two", false, 11, 1000, "queued", 2});
            store.insert_outgoing({"p:1", "", "plain", true, 12, 1000, "sent", 0});
            store.insert_outgoing({"q:1", "33333333333333333", "q", false, 13, 1000, "queued", 7});
            store.commit();
            CHECK(store.pending().size() == 3);
            CHECK(store.last_sequences() ==
                  std::unordered_map<std::string, std::uint64_t>{{"p:1", 2}, {"q:1", 7}});
            store.mark_delivered_rows(first, first, 20);
            store.mark_delivered_rows(first, first, 21);  // the same run again: nothing new
            CHECK(store.pending().size() == 2);           // read through the run
            CHECK(newest(store, MessageFilter{false, "p:1"}, 10)[0].state == "delivered");
            CHECK(count_rows(dir.db(), "SELECT count(*) FROM delivered") == 1);
        }
        {
            // By rows: only queued outgoing ones in the range change.
            Store store(dir.db());
            store.begin();
            const auto a = store.insert_outgoing(
                {"r:1", "44444444444444444", "a", false, 14, 1000, "queued", 1});
            store.insert_incoming(incoming("r:1", "55555555555555555", "in between", 15));
            store.insert_outgoing({"r:1", "66666666666666666", "b", false, 16, 1000, "queued", 2});
            const auto c = store.insert_outgoing(
                {"r:1", "77777777777777777", "c", false, 17, 1000, "queued", 3});
            store.commit();
            store.mark_delivered_rows(a, c - 1, 30);  // a and b; the incoming row is not outgoing
            store.mark_expired(a);                    // acked already: stays delivered
            const auto r = newest(store, MessageFilter{false, "r:1"}, 10);
            REQUIRE(r.size() == 4);
            CHECK(r[0].state == "delivered");
            CHECK(r[1].state == "received");
            CHECK(r[2].state == "delivered");
            CHECK(r[3].state == "queued");
            store.mark_delivered_rows(c, c, 32);
        }
        // Opening folds the runs into the rows, and the runs go: the second
        // store folded the first's run, so two are left here.
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM delivered") == 2);
        Store reopened(dir.db());
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM delivered") == 0);
        CHECK(count_rows(dir.db(),
                         "SELECT count(*) FROM messages WHERE state = 'delivered' "
                         "AND acked_ts IN (20, 30, 32)") == 4);
        const auto pending = reopened.pending();
        REQUIRE(pending.size() == 2);
        CHECK(pending[0].text == "two");
        CHECK(pending[0].seq == 2);
        reopened.mark_expired(pending[0].id);
        CHECK(reopened.pending().size() == 1);
        const auto history = newest(reopened, MessageFilter{false, "p:1"}, 10);
        REQUIRE(history.size() == 3);
        CHECK(history[0].id == first);
        CHECK(history[0].state == "delivered");
        CHECK(history[1].state == "expired");
        CHECK(history[2].state == "sent");
    }

    TEST_CASE("held messages stay out of the listings until released, in any order") {
        TempDir dir;
        const auto ordered = [](std::string id, std::string text, std::uint64_t seq,
                                std::int64_t ts) {
            IncomingMessage m = incoming("a:1", std::move(id), std::move(text), ts);
            m.stream = "00000000000000000000000000000001";
            m.seq = seq;
            m.floor = 1;
            return m;
        };
        {
            Store store(dir.db());
            CHECK(store.hold_incoming(ordered("000000000000000b", "second", 2, 5)));
            CHECK_FALSE(store.hold_incoming(ordered("000000000000000b", "second", 2, 6)));
            CHECK(store.hold_incoming(ordered("000000000000000c", "third", 3, 7)));
            CHECK(newest(store, kReceived, 10).empty());
            store.save_stream("a:1", "00000000000000000000000000000001", 1);
            CHECK(store.held_before(7).size() == 1);
            CHECK(store.held_before(100).size() == 2);
        }
        Store store(dir.db());
        const StreamState state = store.stream_state("a:1", "00000000000000000000000000000001");
        CHECK(state.next == 1);
        CHECK(state.held == std::vector<std::uint64_t>{2, 3});
        CHECK(store.stream_state("a:1", "other").next == 0);
        CHECK(store.insert_incoming(ordered("000000000000000a", "first", 1, 8)).has_value());
        const auto second = store.release_held("a:1", "00000000000000000000000000000001", 2);
        REQUIRE(second.size() == 1);
        CHECK(second[0].text == "second");
        CHECK(second[0].ts_ms == 5);
        CHECK(store.release_held("a:1", "00000000000000000000000000000001", 2).empty());
        store.release_held("a:1", "00000000000000000000000000000001", 3);
        const auto listed = newest(store, kReceived, 10);
        REQUIRE(listed.size() == 3);
        CHECK(listed[0].text == "first");
        CHECK(listed[1].text == "second");
        CHECK(listed[2].text == "third");
        CHECK(store.held_before(100).empty());
    }

    TEST_CASE("a store names its own stream once, and keeps the name") {
        TempDir dir;
        std::string name;
        {
            Store store(dir.db());
            name = store.stream_id();
        }
        CHECK(name.size() == 32);
        CHECK(Store(dir.db()).stream_id() == name);
        TempDir other;
        CHECK(Store(other.db()).stream_id() != name);
    }

    TEST_CASE("a schema 2 store gains the seq column and keeps its messages") {
        TempDir dir;
        {
            Store store(dir.db());
            store.insert_outgoing({"p:1", "11111111111111111", "old", false, 1, 1000, "queued", 0});
        }
        // Make it look as schema 2 left it: no seq column, version 2.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        const int rc =
            sqlite3_exec(db, "ALTER TABLE messages DROP COLUMN seq; PRAGMA user_version = 2;",
                         nullptr, nullptr, nullptr);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
        Store store(dir.db());
        const auto pending = store.pending();
        REQUIRE(pending.size() == 1);
        CHECK(pending[0].text == "old");
        CHECK(pending[0].seq == 0);
        store.insert_outgoing({"p:1", "22222222222222222", "new", false, 2, 1000, "queued", 4});
        CHECK(store.last_sequences().at("p:1") == 4);
    }

    TEST_CASE("a schema 3 store loses the outbox index and keeps its outbox") {
        TempDir dir;
        {
            Store store(dir.db());
            store.insert_outgoing(
                {"p:1", "11111111111111111", "kept", false, 1, 1000, "queued", 1});
        }
        const auto index_count = [&] {
            sqlite3* db = nullptr;
            REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
            sqlite3_stmt* count = nullptr;
            REQUIRE(sqlite3_prepare_v2(db,
                                       "SELECT count(*) FROM sqlite_master "
                                       "WHERE type = 'index' AND name = 'messages_outbox'",
                                       -1, &count, nullptr) == SQLITE_OK);
            REQUIRE(sqlite3_step(count) == SQLITE_ROW);
            const int n = sqlite3_column_int(count, 0);
            sqlite3_finalize(count);
            sqlite3_close(db);
            return n;
        };
        CHECK(index_count() == 0);
        // As schema 3 left it: with the index, version 3.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        const int rc = sqlite3_exec(db,
                                    "CREATE INDEX messages_outbox ON messages (peer, msg_id) "
                                    "WHERE direction = 'out' AND state = 'queued'; "
                                    "PRAGMA user_version = 3;",
                                    nullptr, nullptr, nullptr);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
        REQUIRE(index_count() == 1);
        Store store(dir.db());
        CHECK(index_count() == 0);
        const auto pending = store.pending();
        REQUIRE(pending.size() == 1);
        CHECK(pending[0].text == "kept");
    }

    TEST_CASE("delivered runs fold into their rows a few at a time, oldest first") {
        TempDir dir;
        Store store(dir.db());
        std::vector<OutgoingMessage> batch;
        for (std::uint64_t i = 1; i <= 6; ++i)
            batch.push_back({"p:1", "id" + std::to_string(i), "t", false, 1, 1000, "queued", i});
        store.begin();
        const auto rows = store.insert_outgoing_rows(batch);
        store.commit();
        store.mark_delivered_rows(rows[0], rows[1], 40);
        store.mark_delivered_rows(rows[2], rows[2], 41);
        store.mark_delivered_rows(rows[4], rows[5], 42);  // rows[3] stays queued
        store.mark_delivered_rows(rows[4], rows[5], 43);  // the same run: not another
        CHECK(store.unfolded_runs() == 3);
        store.begin();
        CHECK(store.fold_delivered(2) == 2);
        store.commit();
        CHECK(store.unfolded_runs() == 1);
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM delivered") == 1);
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM messages WHERE state = 'delivered'") == 3);
        const auto states = [&] {
            std::vector<std::string> out;
            for (const auto& m : newest(store, MessageFilter{false, "p:1"}, 10))
                out.push_back(m.state);
            return out;
        };
        const std::vector<std::string> want = {"delivered", "delivered", "delivered",
                                               "queued",    "delivered", "delivered"};
        CHECK(states() == want);  // the same whether folded or not
        store.begin();
        CHECK(store.fold_delivered(10) == 1);
        store.commit();
        CHECK(store.unfolded_runs() == 0);
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM delivered") == 0);
        CHECK(count_rows(dir.db(),
                         "SELECT count(*) FROM messages WHERE state = 'delivered' "
                         "AND acked_ts IN (40, 41, 42)") == 5);
        CHECK(states() == want);
        REQUIRE(store.pending().size() == 1);
        CHECK(store.pending()[0].id == rows[3]);
    }

    TEST_CASE("a schema 4 store gains the table of delivered runs and keeps its outbox") {
        TempDir dir;
        {
            Store store(dir.db());
            store.insert_outgoing(
                {"p:1", "11111111111111111", "kept", false, 1, 1000, "queued", 1});
        }
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        const int rc = sqlite3_exec(db, "DROP TABLE delivered; PRAGMA user_version = 4;", nullptr,
                                    nullptr, nullptr);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
        Store store(dir.db());
        CHECK(count_rows(dir.db(), "PRAGMA user_version") == 7);
        const auto pending = store.pending();
        REQUIRE(pending.size() == 1);
        store.mark_delivered_rows(pending[0].id, pending[0].id, 5);
        CHECK(store.pending().empty());
    }

    TEST_CASE("a rolled-back transaction leaves nothing") {
        TempDir dir;
        Store store(dir.db());
        store.begin();
        store.insert_incoming(incoming("a:1", "0123456789abcdef", "hi"));
        store.rollback();
        CHECK(newest(store, kReceived, 10).empty());
    }

    TEST_CASE("peers remember their name and what they speak") {
        TempDir dir;
        Store store(dir.db());
        store.touch_peer("a:1", "alice", true, false, 5);
        store.touch_peer("a:1", "", false, true, 9);
        auto peers = store.peers();
        REQUIRE(peers.size() == 1);
        CHECK(peers[0].name == "alice");
        CHECK(peers[0].last_seen_ms == 9);
        CHECK(peers[0].speaks_envelope);
        CHECK(peers[0].speaks_plain);
        // A plain datagram from an envelope peer takes nothing away.
        store.touch_peer("a:1", "", false, true, 12);
        peers = store.peers();
        CHECK(peers[0].speaks_envelope);
        // An ack alone (no name, no message) is envelope speech.
        store.touch_peer("b:2", "", true, false, 7);
        peers = store.peers();
        REQUIRE(peers.size() == 2);
        CHECK(peers[1].address == "b:2");
        CHECK(peers[1].speaks_envelope);
        CHECK_FALSE(peers[1].speaks_plain);
    }

    TEST_CASE("a file that is not a database is refused with its name") {
        TempDir dir;
        std::ofstream(dir.db()) << std::string(4096, 'x');
        CHECK_THROWS_WITH_AS(Store(dir.db()),
                             ("store: '" + dir.db() + "': file is not a database").c_str(),
                             StoreError);
    }

    TEST_CASE("a store from a newer chatd is refused, naming the file and both versions") {
        TempDir dir;
        { Store(dir.db()); }
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(db);
        CHECK_THROWS_WITH_AS(Store(dir.db()),
                             ("store: '" + dir.db() +
                              "': schema version 99 is newer than this chatd understands (7)")
                                 .c_str(),
                             StoreError);
    }

    TEST_CASE("transfers survive a reopen; the manifest is written once") {
        TempDir dir;
        {
            Store store(dir.db());
            store.save_transfer({1, "aa", "out", "127.0.0.1:1", "offered", R"({"run":1})",
                                 std::string("MANIFEST"), 10});
            store.save_transfer({2, "bb", "in", "127.0.0.1:2", "offered", "{}", std::nullopt, 11});
            // An update without a manifest keeps the stored one.
            store.save_transfer(
                {1, "aa", "out", "127.0.0.1:1", "sending", R"({"run":2})", std::nullopt, 12});
        }
        Store store(dir.db());
        const auto rows = store.transfers();
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].number == 1);
        CHECK(rows[0].state == "sending");
        CHECK(rows[0].doc == R"({"run":2})");
        CHECK(rows[0].manifest == std::optional<std::string>("MANIFEST"));
        CHECK(rows[0].updated_ms == 12);
        CHECK(rows[1].direction == "in");
        CHECK_FALSE(rows[1].manifest.has_value());
    }

    TEST_CASE("pruning keeps unfinished transfers and the newest finished ones") {
        TempDir dir;
        Store store(dir.db());
        const char* states[] = {"done", "failed", "receiving", "cancelled", "done", "offered"};
        std::int64_t number = 0;
        for (const char* state : states) {
            ++number;
            store.save_transfer({number, "id" + std::to_string(number), "in", "p:1", state, "{}",
                                 "manifest " + std::to_string(number), number});
        }
        store.prune_transfers(2);
        std::vector<std::int64_t> kept;
        for (const auto& row : store.transfers()) kept.push_back(row.number);
        CHECK(kept == std::vector<std::int64_t>{3, 4, 5, 6});
        // A pruned transfer's manifest goes with it.
        CHECK(count_rows(dir.db(), "SELECT count(*) FROM transfer_manifests") == 4);
        CHECK(store.transfers()[0].manifest == std::optional<std::string>("manifest 3"));
    }

    TEST_CASE("saving a transfer's state does not write its manifest again") {
        // SQLite rewrites a row whole: with the manifest in it, each save of a
        // receiving transfer (one per job) wrote megabytes to the WAL.
        TempDir dir;
        Store store(dir.db());
        const std::string manifest(1 << 20, 'm');
        store.save_transfer({1, "aa", "in", "p:1", "receiving", "{}", manifest, 1});
        const auto wal_bytes = [&] { return std::filesystem::file_size(dir.db() + "-wal"); };
        const auto before = wal_bytes();
        std::string verified = "[";
        for (int job = 0; job < 8; ++job) {
            verified += std::to_string(job) + ",";
            store.save_transfer({1, "aa", "in", "p:1", "receiving",
                                 R"({"verified":)" + verified + "0]}", std::nullopt, 2 + job});
        }
        CHECK(wal_bytes() - before < 8 * 16 * 1024);
        CHECK(store.transfers()[0].manifest == manifest);
    }

    TEST_CASE("a schema 5 store moves its manifests out of the transfers' rows") {
        TempDir dir;
        Store(dir.db()).save_transfer({1, "aa", "out", "p:1", "sending", "{}", "M1", 1});
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        // As schema 5 left it: the manifest in a column of transfers.
        const int rc = sqlite3_exec(
            db,
            "DROP TABLE transfer_manifests; ALTER TABLE transfers ADD COLUMN manifest TEXT;"
            "UPDATE transfers SET manifest = 'M1 of schema 5';"
            "INSERT INTO transfers (number, wire_id, direction, peer, state, doc, updated) "
            "VALUES (2, 'bb', 'in', 'p:2', 'offered', '{}', 2);"
            "PRAGMA user_version = 5;",
            nullptr, nullptr, nullptr);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
        Store store(dir.db());
        CHECK(count_rows(dir.db(), "PRAGMA user_version") == 7);
        CHECK(count_rows(dir.db(),
                         "SELECT count(*) FROM pragma_table_info('transfers') "
                         "WHERE name = 'manifest'") == 0);
        const auto rows = store.transfers();
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].manifest == std::optional<std::string>("M1 of schema 5"));
        CHECK(rows[0].state == "sending");
        CHECK_FALSE(rows[1].manifest.has_value());
    }

    TEST_CASE("a schema 6 store gains the table of pinned keys and keeps its rows") {
        TempDir dir;
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        // The file as chatd with schema 6 made it (its kSchema, verbatim),
        // with a message and a peer.
        const int rc = sqlite3_exec(db, R"sql(
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY,
    direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    peer       TEXT    NOT NULL,
    peer_name  TEXT    NOT NULL DEFAULT '',
    msg_id     TEXT,
    text       TEXT    NOT NULL,
    plain      INTEGER NOT NULL,
    ts         INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    expires    INTEGER,
    acked_ts   INTEGER,
    seq        INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_seen ON messages (peer, msg_id)
    WHERE direction = 'in' AND msg_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS peers (
    address         TEXT PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    last_seen       INTEGER NOT NULL,
    speaks_envelope INTEGER NOT NULL DEFAULT 0,
    speaks_plain    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS transfers (
    number    INTEGER PRIMARY KEY,
    wire_id   TEXT    NOT NULL,
    direction TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    peer      TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    doc       TEXT    NOT NULL,
    updated   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS transfers_wire ON transfers (direction, peer, wire_id);
CREATE TABLE IF NOT EXISTS transfer_manifests (
    number   INTEGER PRIMARY KEY REFERENCES transfers (number) ON DELETE CASCADE,
    manifest TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS held (
    id        INTEGER PRIMARY KEY,
    peer      TEXT    NOT NULL,
    peer_name TEXT    NOT NULL DEFAULT '',
    msg_id    TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    ts        INTEGER NOT NULL,
    stream    TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    UNIQUE (peer, msg_id)
);
CREATE INDEX IF NOT EXISTS held_stream ON held (peer, stream, seq);
CREATE TABLE IF NOT EXISTS streams (
    peer   TEXT    NOT NULL,
    stream TEXT    NOT NULL,
    next   INTEGER NOT NULL,
    PRIMARY KEY (peer, stream)
);
CREATE TABLE IF NOT EXISTS delivered (
    first    INTEGER PRIMARY KEY,
    last     INTEGER NOT NULL,
    acked_ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('stream', lower(hex(randomblob(16))));
INSERT INTO messages (direction, peer, msg_id, text, plain, ts, state)
    VALUES ('in', '10.0.0.5:7890', 'm1', 'from schema 6', 0, 5, 'received');
INSERT INTO peers (address, name, last_seen, speaks_envelope) VALUES ('10.0.0.5:7890', 'bob', 5, 1);
PRAGMA user_version = 6;
)sql",
                                    nullptr, nullptr, nullptr);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
        {
            Store store(dir.db());
            CHECK(count_rows(dir.db(), "PRAGMA user_version") == 7);
            CHECK(store.peer_keys().empty());
            REQUIRE(store.peers().size() == 1);
            CHECK(store.peers()[0].name == "bob");
            const auto old = newest(store, kReceived, 10);
            REQUIRE(old.size() == 1);
            CHECK(old[0].text == "from schema 6");
            store.save_peer_key(
                {"10.0.0.5:7890", Pin{KeyDigest{1}, std::nullopt, Trust::verified, {}}, 10, 11});
        }
        Store store(dir.db());
        const auto keys = store.peer_keys();
        REQUIRE(keys.size() == 1);
        CHECK(keys[0].peer == "10.0.0.5:7890");
        CHECK(keys[0].pin.trust == Trust::verified);
        CHECK(keys[0].verified_ms == 11);
    }

    TEST_CASE("a pin is written over and read back whole") {
        TempDir dir;
        KeyBytes public_key{};
        public_key.fill(7);
        KeyDigest digest{}, other{};
        digest.fill(1);
        other.fill(2);
        {
            Store store(dir.db());
            store.save_peer_key({"b:1", Pin{digest, std::nullopt, Trust::verified, {}}, 3, 4});
            store.save_peer_key({"a:1", Pin{digest, public_key, Trust::unverified, {}}, 1, 0});
            store.save_peer_key({"a:1", Pin{digest, public_key, Trust::unverified, other}, 1, 0});
        }
        Store store(dir.db());
        const auto keys = store.peer_keys();
        REQUIRE(keys.size() == 2);
        CHECK(keys[0].peer == "a:1");
        CHECK(keys[0].pin.digest == digest);
        CHECK(keys[0].pin.public_key == std::optional<KeyBytes>(public_key));
        CHECK(keys[0].pin.trust == Trust::unverified);
        CHECK(keys[0].pin.changed_to == std::optional<KeyDigest>(other));
        CHECK(keys[0].pinned_ms == 1);
        CHECK(keys[0].verified_ms == 0);
        CHECK(keys[1].peer == "b:1");
        CHECK_FALSE(keys[1].pin.public_key.has_value());
        CHECK_FALSE(keys[1].pin.changed_to.has_value());
        CHECK(keys[1].pin.trust == Trust::verified);
        CHECK(keys[1].verified_ms == 4);
    }
}
