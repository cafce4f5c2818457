#include "audit/cloudtrail_api.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "audit/lookup.h"
#include "common/strings.h"

namespace hangar::audit {
namespace {

using json = nlohmann::json;

constexpr std::string_view kLookupKeys[] = {"EventId",      "EventName",    "ReadOnly",
                                            "Username",     "ResourceType", "ResourceName",
                                            "EventSource",  "AccessKeyId"};

Status Serialization(const std::string& what) {
  return Error(ErrorCode::kSerialization, what);
}

// Timestamps arrive as epoch seconds (a JSON number, possibly fractional) or ISO 8601 text.
Result<std::optional<TimePoint>> TimeMember(const json& request, const char* name) {
  auto it = request.find(name);
  if (it == request.end() || it->is_null()) return std::optional<TimePoint>();
  if (it->is_number()) {
    double seconds = it->get<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 7258118400.0) {
      return Serialization(std::string("Invalid timestamp in member ") + name);
    }
    return std::optional<TimePoint>(FromUnixMillis(static_cast<int64_t>(seconds * 1000)));
  }
  return Serialization(std::string("Expected a timestamp in member ") + name);
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One record as LookupEvents shows it: a summary and the record itself as a string.
json EventSummary(std::string_view record_text) {
  json record = json::parse(record_text, nullptr, false);
  if (!record.is_object()) return nullptr;
  const json& id = record.value("userIdentity", json::object());
  std::string username = Str(id, "type") == "Root" ? "root" : Str(id, "userName");
  if (username.empty()) {
    std::string arn = Str(id, "arn");
    size_t slash = arn.rfind('/');
    if (slash != std::string::npos) username = arn.substr(slash + 1);
  }
  json resources = json::array();
  for (const json& r : record.value("resources", json::array())) {
    resources.push_back({{"ResourceType", Str(r, "type")}, {"ResourceName", Str(r, "ARN")}});
  }
  json summary{{"EventId", Str(record, "eventID")},
               {"EventName", Str(record, "eventName")},
               {"ReadOnly", record.value("readOnly", false) ? "true" : "false"},
               {"EventSource", Str(record, "eventSource")},
               {"Resources", std::move(resources)},
               {"CloudTrailEvent", std::string(record_text)}};
  std::string access_key = Str(id, "accessKeyId");
  if (!access_key.empty()) summary["AccessKeyId"] = access_key;
  if (!username.empty()) summary["Username"] = username;
  if (auto t = ParseIso8601(Str(record, "eventTime"))) {
    summary["EventTime"] = ToUnixMillis(*t) / 1000;
  }
  return summary;
}

}  // namespace

Result<std::string> CloudTrailApi::Call(const auth::RequestContext& ctx,
                                        std::string_view operation,
                                        std::string_view body) const {
  if (operation == "LookupEvents") {
    HANGAR_RETURN_IF_ERROR(authorize_(ctx, "cloudtrail:LookupEvents"));
    return LookupEvents(ctx, body);
  }
  return Error(ErrorCode::kUnknownOperation, "");
}

Result<std::string> CloudTrailApi::LookupEvents(const auth::RequestContext& ctx,
                                                std::string_view body) const {
  json request = body.empty() ? json::object()
                 : JsonNestingWithin(body, kMaxJsonDepth)
                     ? json::parse(body, nullptr, /*allow_exceptions=*/false)
                     : json(json::value_t::discarded);
  if (!request.is_object()) {
    return Serialization("Start of structure or map found where not expected.");
  }
  LookupQuery query;
  query.account_id = ctx.principal.account_id;
  query.include_data_events = options_.lookup_data_events;
  if (auto it = request.find("LookupAttributes"); it != request.end() && !it->is_null()) {
    if (!it->is_array()) return Serialization("Expected a list in member LookupAttributes");
    if (it->size() > 1) {
      return Error(ErrorCode::kCloudTrailInvalidLookupAttributes,
                   "You cannot specify more than one lookup attribute.");
    }
    for (const json& attribute : *it) {
      std::string key = attribute.is_object() ? Str(attribute, "AttributeKey") : "";
      std::string value = attribute.is_object() ? Str(attribute, "AttributeValue") : "";
      if (std::find(std::begin(kLookupKeys), std::end(kLookupKeys), key) == std::end(kLookupKeys)) {
        return Error(ErrorCode::kCloudTrailInvalidLookupAttributes,
                     "Lookup attribute key " + key + " is not valid.");
      }
      if (value.empty() || value.size() > 2000) {
        return Error(ErrorCode::kCloudTrailInvalidLookupAttributes,
                     "Lookup attribute value must be between 1 and 2000 characters.");
      }
      query.attribute = std::make_pair(key, value);
    }
  }
  HANGAR_ASSIGN_OR_RETURN(query.start, TimeMember(request, "StartTime"));
  HANGAR_ASSIGN_OR_RETURN(query.end, TimeMember(request, "EndTime"));
  if (query.start && query.end && *query.start > *query.end) {
    return Error(ErrorCode::kCloudTrailInvalidTimeRange,
                 "Start time must be before or equal to end time.");
  }
  if (auto it = request.find("MaxResults"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 50) {
      return Error(ErrorCode::kCloudTrailInvalidMaxResults,
                   "MaxResults must be between 1 and 50.");
    }
    query.max_results = static_cast<int>(it->get<int64_t>());
  }
  if (auto it = request.find("EventCategory"); it != request.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>() != "insight") {
      return Error(ErrorCode::kCloudTrailInvalidEventCategory, "EventCategory must be insight.");
    }
    return json{{"Events", json::array()}}.dump();  // no Insights events here
  }
  query.next_token = Str(request, "NextToken");
  HANGAR_ASSIGN_OR_RETURN(LookupPage page, options_.lookup(query));
  json events = json::array();
  for (const std::string& record : page.records) {
    json summary = EventSummary(record);
    if (!summary.is_null()) events.push_back(std::move(summary));
  }
  json response{{"Events", std::move(events)}};
  if (!page.next_token.empty()) response["NextToken"] = page.next_token;
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hangar::audit
