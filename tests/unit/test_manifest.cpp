#include <doctest/doctest.h>

#include <string>

#include "manifest.hpp"

using namespace chat;

namespace {
Manifest sample() {
    Manifest m;
    m.entries = {
        {EntryType::directory, "photos", 0, 0755, 1'000'000'000, ""},
        {EntryType::file, "photos/a b.jpg", 123, 0644, 2'000'000'001, ""},
        {EntryType::file, "photos/empty", 0, 0600, 3, ""},
        {EntryType::directory, "photos/empty dir", 0, 0700, 4, ""},
        {EntryType::symlink, "photos/latest", 0, 0, 5, "a b.jpg"},
        {EntryType::file, "notes\n.txt", 7, 0640, 6, ""},
    };
    return m;
}

std::string one_entry(const std::string& entry) {
    return R"({"version":1,"entries":[)" + entry + "]}";
}
}  // namespace

TEST_SUITE("manifest") {
    TEST_CASE("round trip, totals and top-level names") {
        const Manifest m = sample();
        CHECK(decode_manifest(encode_manifest(m)) == m);
        CHECK(m.total_bytes() == 130);
        CHECK(m.file_count() == 3);
        CHECK(m.top_level_names() == std::vector<std::string>{"photos", "notes\n.txt"});
    }

    TEST_CASE("setuid, setgid and sticky bits are dropped") {
        Manifest m;
        m.entries = {{EntryType::file, "x", 1, 04755, 0, ""},
                     {EntryType::directory, "d", 0, 01777, 0, ""}};
        const Manifest back = decode_manifest(encode_manifest(m));
        CHECK(back.entries[0].mode == 0755);
        CHECK(back.entries[1].mode == 0777);
        CHECK((decode_manifest(one_entry(R"({"t":"f","p":"x","s":1,"m":3565})")).entries[0].mode) ==
              0755);
    }

    TEST_CASE("a symlink's mode is ignored, so decoding what was encoded gives it back") {
        // Found by fuzz_manifest: "m" on a link was kept, then dropped by encode.
        const Manifest m =
            decode_manifest(one_entry(R"({"t":"d","p":"d"},{"t":"l","p":"d/x","l":"y","m":2})"));
        CHECK(m.entries[1].mode == 0);
        CHECK(decode_manifest(encode_manifest(m)) == m);
    }

    TEST_CASE("forged manifests are refused, naming the entry") {
        struct Case {
            std::string json, error;
        };
        const Case cases[] = {
            {"nope", "manifest is not a JSON object"},
            {R"({"version":2,"entries":[]})", "unknown manifest version"},
            // Found by fuzz_manifest: a duplicate "version" that is not a number
            // made json's value() throw its own type error past the caller.
            {R"({"version":1,"version":[1],"entries":[]})", "unknown manifest version"},
            {R"({"version":"1","entries":[]})", "unknown manifest version"},
            {R"({"version":1})", "manifest without entries"},
            {one_entry(R"({"t":"f","p":"../x","s":1})"),
             "manifest entry 0 ('../x'): '..' component"},
            {one_entry(R"({"t":"f","p":"/etc/passwd","s":1})"),
             "manifest entry 0 ('/etc/passwd'): absolute path"},
            {one_entry(R"({"t":"f","s":1})"), "manifest entry 0: missing path"},
            {one_entry(R"({"t":"x","p":"a"})"), "manifest entry 0 ('a'): unknown type 'x'"},
            {one_entry(R"({"t":7,"p":"a"})"), "manifest entry 0 ('a'): unknown type ''"},
            {one_entry(R"({"t":"f","p":"a"})"), "manifest entry 0 ('a'): missing size"},
            {one_entry(R"({"t":"f","p":"a","s":-5})"), "manifest entry 0 ('a'): missing size"},
            {one_entry(R"({"t":"f","p":"a","s":2251799813685249})"),
             "manifest entry 0 ('a'): size too large"},
            {one_entry(R"({"t":"f","p":"a","s":1,"mt":"yesterday"})"),
             "manifest entry 0 ('a'): a field has the wrong type"},
            {one_entry(R"({"t":"l","p":"a","l":"/etc/passwd"})"),
             "manifest entry 0 ('a'): link to an absolute path"},
            {one_entry(R"({"t":"l","p":"a","l":"../../x"})"),
             "manifest entry 0 ('a'): link points outside 'a'"},
            // Issue 18: on the receiver it pointed at another transfer's file.
            {one_entry(R"({"t":"d","p":"box"},{"t":"l","p":"box/up1","l":"../notes.txt"})"),
             "manifest entry 1 ('box/up1'): link points outside 'box'"},
            // Judged with every link known, those listed after it too.
            {one_entry(R"({"t":"d","p":"box"},{"t":"l","p":"box/l","l":"a/../x"},)"
                       R"({"t":"l","p":"box/a","l":"."})"),
             "manifest entry 1 ('box/l'): link target has '..' after another link ('box/a')"},
            {one_entry(R"({"t":"f","p":"dir/a","s":1})"),
             "manifest entry 0 ('dir/a'): parent directory is not listed before it"},
            // A symlink, then a file "through" it.
            {one_entry(R"({"t":"l","p":"a","l":"b"},{"t":"d","p":"b"},{"t":"f","p":"a/x","s":1})"),
             "manifest entry 2 ('a/x'): parent is not a directory"},
            {one_entry(R"({"t":"f","p":"f","s":1},{"t":"f","p":"f/x","s":1})"),
             "manifest entry 1 ('f/x'): parent is not a directory"},
            {one_entry(R"({"t":"f","p":"a","s":1},{"t":"f","p":"a","s":2})"),
             "manifest entry 1 ('a'): listed twice"},
            {one_entry(R"(5)"), "manifest entry 0: not an object"},
            // Read as events, not as a document: the same rules hold for
            // values nested where a field should be, repeated keys (the last
            // counts) and keys in any order.
            {one_entry(R"([{"t":"f"}])"), "manifest entry 0: not an object"},
            {one_entry(R"({"t":"f","p":{"p":"a"},"s":1})"), "manifest entry 0: missing path"},
            {one_entry(R"({"t":"f","p":"a","s":[1]})"), "manifest entry 0 ('a'): missing size"},
            {one_entry(R"({"t":"f","p":"a","s":1,"m":{"x":[1]}})"),
             "manifest entry 0 ('a'): a field has the wrong type"},
            {one_entry(R"({"t":"l","p":"a","l":null})"),
             "manifest entry 0 ('a'): a field has the wrong type"},
            {one_entry(R"({"t":"f","p":"a","s":1,"p":"/b"})"),
             "manifest entry 0 ('/b'): absolute path"},
            {R"({"entries":[],"version":1,"entries":7})", "manifest without entries"},
            {R"({"entries":[{"t":"x","p":"a"}],"version":1,"entries":[]} )", ""},
            {R"({"entries":[{"t":"x","p":"a"}],"version":2})", "unknown manifest version"},
            {R"([{"version":1,"entries":[]}])", "manifest is not a JSON object"},
            {R"({"version":1,"entries":[]} trailing)", "manifest is not a JSON object"},
            {R"({"version":1,"entries":[{"t":"d","p":"a"},)", "manifest is not a JSON object"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.json);
            if (c.error.empty()) {
                CHECK(decode_manifest(c.json).entries.empty());
            } else {
                CHECK_THROWS_WITH_AS(decode_manifest(c.json), c.error.c_str(), ManifestError);
            }
        }
    }

    TEST_CASE("encode_manifest's own layout and any other JSON read alike") {
        // The layout encode_manifest writes has a reader of its own; anything
        // else (spaces, other escapes, floats, nesting) goes to json's.
        struct Case {
            std::string own, other;
        };
        const Case cases[] = {
            {R"({"entries":[{"m":420,"mt":-5,"p":"a\u000a\"b\\","s":0,"t":"f"}],"version":1})",
             R"({ "version": 1, "entries": [ {"t":"f","s":0,"p":"a\u000a\"b\\","mt":-5,"m":420} ] })"},
            {R"({"entries":[{"m":493,"mt":0,"p":"\u00e9t\u00e9","t":"d"}],"version":1})",
             R"({"entries":[{"m":493,"mt":0,"p":"\u00e9t\u00e9","t":"d"}],"version":1})"},
            {R"({"entries":[{"m":493,"mt":0,"p":"d","t":"d"},{"l":"../d","mt":9,"p":"d/l","t":"l"}],"version":1})",
             R"({"entries":[{"m":493.0,"mt":0,"p":"d","t":"d"},{"l":"../d","mt":9e0,"p":"d/l","t":"l"}],"version":1})"},
            {R"({"entries":[{"m":4294967295,"mt":1,"p":"x","s":18446744073709551615,"t":"f"}],"version":1})",
             R"({"entries":[{"m":4294967295,"mt":1,"p":"x","s":18446744073709551615,"t":"f","x":[{}]}],"version":1})"},
            // Numbers past a field's type convert as json's get() does.
            {R"({"entries":[{"m":4294967733,"mt":18446744073709551615,"p":"x","s":1,"t":"f"}],"version":1})",
             R"({"entries":[{"m":4294967733, "mt":18446744073709551615,"p":"x","s":1,"t":"f"}],"version":1})"},
            // encode_manifest's layout with what it never writes: json's
            // reader decides, with the same verdict.
            {R"({"entries":[{"m":"x","mt":1,"p":"x","s":1,"t":"f"}],"version":1})",
             R"({"entries":[{"m":"x","mt":1,"p":"x","s":1,"t":"f"}], "version":1})"},
            {R"({"entries":[{"m":1,"mt":1,"p":"x","s":-1,"t":"f"}],"version":1})",
             R"({"entries":[{"m":1,"mt":1,"p":"x","s":-1,"t":"f"}], "version":1})"},
            {R"({"entries":[{"m":-1,"mt":1,"p":"x","s":1,"t":"f"}],"version":1})",
             R"({"entries":[{"m":-1,"mt":1,"p":"x","s":1,"t":"f"}], "version":1})"},
            {R"({"entries":[{"m":1,"mt":1,"p":7,"s":1,"t":"f"}],"version":1})",
             R"({"entries":[{"m":1,"mt":1,"p":7,"s":1,"t":"f"}], "version":1})"},
            {R"({"entries":[{"m":1,"mt":1,"p":"x","s":1,"t":"f","xyz":1}],"version":1})",
             R"({"entries":[{"m":1,"mt":1,"p":"x","s":1,"t":"f"}], "version":1})"},
            {R"({"entries":[{"m":1,"mt":1,"p":"x","s":1,"t":"f"}],"version":2})",
             R"({"entries":[{"m":1,"mt":1,"p":"x","s":1,"t":"f"}], "version":2})"},
        };
        for (const auto& c : cases) {
            CAPTURE(c.own);
            std::string own_error, other_error;
            Manifest own, other;
            try {
                own = decode_manifest(c.own);
            } catch (const ManifestError& e) {
                own_error = e.what();
            }
            try {
                other = decode_manifest(c.other);
            } catch (const ManifestError& e) {
                other_error = e.what();
            }
            CHECK(own_error == other_error);
            CHECK(own == other);
            if (own_error.empty()) CHECK(detail::decode_manifest_generic(c.own) == own);
        }
        CHECK(decode_manifest(cases[0].own).entries[0].path == "a\n\"b\\");
        CHECK(decode_manifest(cases[1].own).entries[0].path == "\u00e9t\u00e9");
        CHECK_THROWS_WITH_AS(decode_manifest(cases[3].own),
                             "manifest entry 0 ('x'): size too large", ManifestError);
        const ManifestEntry wrapped = decode_manifest(cases[4].own).entries.at(0);
        CHECK(wrapped.mode == 0665);  // 4294967733 as uint32_t is 437
        CHECK(wrapped.mtime_ns == -1);
        CHECK_THROWS_WITH_AS(decode_manifest(cases[5].own),
                             "manifest entry 0 ('x'): a field has the wrong type", ManifestError);
        CHECK_THROWS_WITH_AS(decode_manifest(cases[6].own), "manifest entry 0 ('x'): missing size",
                             ManifestError);
        CHECK(decode_manifest(cases[7].own).entries.at(0).mode == 0777);  // -1 as uint32_t
        CHECK_THROWS_WITH_AS(decode_manifest(cases[8].own), "manifest entry 0: missing path",
                             ManifestError);
        CHECK(decode_manifest(cases[9].own).entries.at(0).path == "x");
        CHECK_THROWS_WITH_AS(decode_manifest(cases[10].own), "unknown manifest version",
                             ManifestError);
    }

    TEST_CASE("encoding writes the same text a json document would") {
        CHECK(encode_manifest(sample()) ==
              R"({"entries":[{"m":493,"mt":1000000000,"p":"photos","t":"d"},)"
              R"({"m":420,"mt":2000000001,"p":"photos/a b.jpg","s":123,"t":"f"},)"
              R"({"m":384,"mt":3,"p":"photos/empty","s":0,"t":"f"},)"
              R"({"m":448,"mt":4,"p":"photos/empty dir","t":"d"},)"
              R"({"l":"a b.jpg","mt":5,"p":"photos/latest","t":"l"},)"
              R"({"m":416,"mt":6,"p":"notes\n.txt","s":7,"t":"f"}],"version":1})");
        CHECK(encode_manifest(Manifest{}) == R"({"entries":[],"version":1})");
        Manifest bad;
        bad.entries = {{EntryType::symlink, "l", 0, 0, 0, "b\xff"}};
        CHECK_THROWS_WITH_AS(encode_manifest(bad),
                             "manifest entry 0 ('l'): link target is not valid UTF-8",
                             ManifestError);
    }
}
