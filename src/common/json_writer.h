#pragma once
// JsonObjectWriter: appends one JSON object to a string, member by member, without building a
// tree. For text made on every request (audit records, request logs), where a JSON library's tree
// (an allocation per member, then a dump) costs more than the request itself. Values are escaped;
// bytes that are not UTF-8 are replaced (U+FFFD), never thrown. Member names are the caller's own
// literals and are not escaped.

#include <cstdint>
#include <string>
#include <string_view>

namespace hangar {

// Appends `value` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view value);

class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void Finish() { out_ += '}'; }

  void String(std::string_view name, std::string_view value) {
    Key(name);
    AppendJsonString(out_, value);
  }
  void Bool(std::string_view name, bool value) {
    Key(name);
    out_ += value ? "true" : "false";
  }
  void Number(std::string_view name, uint64_t value) {
    Key(name);
    out_ += std::to_string(value);
  }
  void Double(std::string_view name, double value);
  // JSON text made elsewhere that must be an object; anything else is written as null.
  void Embedded(std::string_view name, std::string_view text) {
    Key(name);
    const bool object = text.size() >= 2 && text.front() == '{' && text.back() == '}';
    out_ += object ? text : std::string_view("null");
  }
  // JSON text the caller vouches for (an array or object it wrote itself).
  void Raw(std::string_view name, std::string_view json) {
    Key(name);
    out_ += json;
  }

 private:
  void Key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace hangar
