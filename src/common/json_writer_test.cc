#include "common/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hangar {
namespace {

std::string Quoted(std::string_view value) {
  std::string out;
  AppendJsonString(out, value);
  return out;
}

// What a JSON library writes for the same value, invalid UTF-8 replaced.
std::string LibraryQuoted(std::string_view value) {
  return nlohmann::json(std::string(value))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonWriter, EscapesAsAJsonLibraryDoes) {
  for (std::string_view value :
       {std::string_view("plain"), std::string_view("quote \" and \\ backslash"),
        std::string_view("line\nbreak\ttab\rcr"), std::string_view("\x01\x1f control"),
        std::string_view("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"),
        std::string_view("bad \xff byte"), std::string_view("cut \xe2\x82"),
        std::string_view("overlong \xc0\xaf"), std::string_view("mixed \xc3\xa9\xff\xc3\xa9")}) {
    EXPECT_EQ(Quoted(value), LibraryQuoted(value)) << value;
  }
}

TEST(JsonWriter, WritesAnObjectThatParses) {
  std::string out;
  JsonObjectWriter w(out);
  w.String("name", "value \"quoted\"");
  w.Number("count", 42);
  w.Bool("ok", false);
  w.Double("seconds", 0.25);
  w.Embedded("params", R"({"a":1})");
  w.Embedded("not_an_object", "[1]");
  w.Raw("list", "[1,2]");
  w.Finish();
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["name"], "value \"quoted\"");
  EXPECT_EQ(j["count"], 42);
  EXPECT_EQ(j["ok"], false);
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 0.25);
  EXPECT_EQ(j["params"]["a"], 1);
  EXPECT_TRUE(j["not_an_object"].is_null());
  EXPECT_EQ(j["list"].size(), 2u);
}

}  // namespace
}  // namespace hangar
