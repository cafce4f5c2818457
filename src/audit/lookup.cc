#include "audit/lookup.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "audit/digest.h"
#include "common/files.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<std::string> LogNames(const std::string& audit_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(audit_dir + "/" + std::string(kLogsDir), ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".jsonl") && SequenceOf(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<TimePoint> EventTime(const json& record) {
  return ParseIso8601(Str(record, "eventTime"));
}

// The user name LookupEvents shows: the IAM user's or role session's name, "root" for the root.
std::string UsernameOf(const json& record) {
  const json& id = record.value("userIdentity", json::object());
  if (Str(id, "type") == "Root") return "root";
  if (!Str(id, "userName").empty()) return Str(id, "userName");
  std::string arn = Str(id, "arn");
  size_t slash = arn.rfind('/');
  return slash == std::string::npos ? std::string() : arn.substr(slash + 1);
}

bool Visible(const json& record, const LookupQuery& q) {
  const json& id = record.value("userIdentity", json::object());
  if (Str(record, "recipientAccountId") != q.account_id && Str(id, "accountId") != q.account_id) {
    return false;
  }
  if (!q.include_data_events && record.value("managementEvent", true) == false) return false;
  return true;
}

bool Matches(const json& record, const LookupQuery& q) {
  if (!q.attribute) return true;
  const auto& [key, value] = *q.attribute;
  if (key == "EventId") return Str(record, "eventID") == value;
  if (key == "EventName") return Str(record, "eventName") == value;
  if (key == "EventSource") return Str(record, "eventSource") == value;
  if (key == "ReadOnly") return (record.value("readOnly", false) ? "true" : "false") == value;
  if (key == "Username") return UsernameOf(record) == value;
  if (key == "AccessKeyId") {
    return Str(record.value("userIdentity", json::object()), "accessKeyId") == value;
  }
  if (key == "ResourceType" || key == "ResourceName") {
    for (const json& r : record.value("resources", json::array())) {
      if (Str(r, key == "ResourceType" ? "type" : "ARN") == value) return true;
    }
    return false;
  }
  return false;
}

// The token binds the position (log file, line) to the query it was issued for.
std::string QueryFingerprint(const LookupQuery& q) {
  std::string s = q.account_id + "\n";
  if (q.attribute) s += q.attribute->first + "=" + q.attribute->second;
  s += "\n" + (q.start ? std::to_string(ToUnixMillis(*q.start)) : std::string("-"));
  s += "\n" + (q.end ? std::to_string(ToUnixMillis(*q.end)) : std::string("-"));
  s += q.include_data_events ? "\nD" : "\nM";
  return crypto::Sha256Hex(s).substr(0, 16);
}

struct Position {
  std::string file;
  size_t line = 0;  // continue with the lines before this one
};

Result<std::optional<Position>> ParseToken(const LookupQuery& q) {
  HANGAR_ASSIGN_OR_RETURN(auto at, ParseLookupToken(q, [](std::string_view file) {
                            return SequenceOf(file).has_value();
                          }));
  if (!at) return std::optional<Position>();
  return std::optional<Position>(Position{at->first, at->second});
}

std::string MakeToken(const LookupQuery& q, const Position& p) {
  return LookupToken(q, p.file, p.line);
}

}  // namespace

std::vector<std::string_view> RecordLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) break;  // a record being written: not yet there
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool RecordSelected(std::string_view text, const LookupQuery& q) {
  json record = json::parse(text, nullptr, false);
  if (!record.is_object() || !Visible(record, q) || !Matches(record, q)) return false;
  auto t = EventTime(record);
  if (q.start && (!t || *t < *q.start)) return false;
  if (q.end && (!t || *t > *q.end)) return false;
  return true;
}

std::string LookupToken(const LookupQuery& q, std::string_view chunk, size_t line) {
  return crypto::Base64Encode(
      json{{"q", QueryFingerprint(q)}, {"f", std::string(chunk)}, {"l", line}}.dump());
}

Result<std::optional<std::pair<std::string, size_t>>> ParseLookupToken(
    const LookupQuery& q, const std::function<bool(std::string_view)>& valid_chunk) {
  using Found = std::optional<std::pair<std::string, size_t>>;
  if (q.next_token.empty()) return Found();
  auto bad = [] { return Error(ErrorCode::kCloudTrailInvalidNextToken, "Invalid NextToken."); };
  auto decoded = crypto::Base64Decode(q.next_token);
  if (!decoded) return bad();
  auto j = json::parse(*decoded, nullptr, false);
  if (!j.is_object() || Str(j, "q") != QueryFingerprint(q) || !j.contains("l") ||
      !j["l"].is_number_unsigned() || !valid_chunk(Str(j, "f"))) {
    return bad();
  }
  return Found(std::make_pair(Str(j, "f"), j["l"].get<size_t>()));
}

Result<LookupPage> LookupEvents(const std::string& audit_dir, const LookupQuery& q) {
  HANGAR_ASSIGN_OR_RETURN(std::optional<Position> resume, ParseToken(q));
  std::vector<std::string> names = LogNames(audit_dir);
  LookupPage page;
  // Files newest first; a file holds records from its name's time until the next file's.
  for (size_t i = names.size(); i-- > 0;) {
    const std::string& name = names[i];
    if (resume && name > resume->file) continue;
    if (q.start && i + 1 < names.size()) {
      auto next_start = TimeOf(names[i + 1]);
      if (next_start && *next_start < *q.start) break;  // everything older is before the window
    }
    auto file_start = TimeOf(name);
    // Records carry completion times a little after their file opened; a minute's slack.
    if (q.end && file_start && *file_start > *q.end + std::chrono::minutes(1)) continue;
    auto text = ReadSmallFile(audit_dir + "/" + std::string(kLogsDir) + "/" + name, 1ULL << 34);
    if (!text.ok()) continue;  // removed by retention meanwhile
    std::vector<std::string_view> lines = RecordLines(*text);
    size_t line = lines.size();
    if (resume && name == resume->file) line = std::min(line, resume->line);
    while (line-- > 0) {
      if (!RecordSelected(lines[line], q)) continue;
      if (static_cast<int>(page.records.size()) == q.max_results) {
        page.next_token = MakeToken(q, Position{name, line + 1});
        return page;
      }
      page.records.emplace_back(lines[line]);
    }
  }
  return page;
}

Status ForEachRecord(const std::string& audit_dir, std::optional<TimePoint> start,
                     std::optional<TimePoint> end,
                     const std::function<bool(std::string_view record)>& emit) {
  for (const std::string& name : LogNames(audit_dir)) {
    auto file_start = TimeOf(name);
    if (end && file_start && *file_start > *end + std::chrono::minutes(1)) break;
    HANGAR_ASSIGN_OR_RETURN(std::string text,
                            ReadSmallFile(audit_dir + "/" + std::string(kLogsDir) + "/" + name,
                                          1ULL << 34));
    for (std::string_view line : RecordLines(text)) {
      if (start || end) {
        json record = json::parse(line, nullptr, false);
        auto t = record.is_object() ? EventTime(record) : std::nullopt;
        if (!t || (start && *t < *start) || (end && *t > *end)) continue;
      }
      if (!emit(line)) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace hangar::audit
