#include "audit/securityhub_api.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"

namespace hangar::audit {
namespace {

using json = nlohmann::json;

Status Invalid(std::string message) {
  return Error(ErrorCode::kSecurityHubInvalidInput, std::move(message));
}

std::string ProductArn(const Finding& f) {
  return "arn:aws:securityhub:" + f.region + "::product/aws/" + f.product;
}

// The string values a filter field reads from a finding (Type has several).
using Accessor = std::function<std::vector<std::string>(const Finding&)>;

const std::map<std::string, Accessor, std::less<>>& StringFields() {
  static const auto* fields = new std::map<std::string, Accessor, std::less<>>{
      {"Id", [](const Finding& f) { return std::vector<std::string>{f.id}; }},
      {"ProductArn", [](const Finding& f) { return std::vector<std::string>{ProductArn(f)}; }},
      {"ProductName",
       [](const Finding& f) {
         return std::vector<std::string>{f.product == "guardduty" ? "GuardDuty" : "Security Hub"};
       }},
      {"CompanyName", [](const Finding&) { return std::vector<std::string>{"AWS"}; }},
      {"GeneratorId", [](const Finding& f) { return std::vector<std::string>{f.generator_id}; }},
      {"AwsAccountId", [](const Finding& f) { return std::vector<std::string>{f.account_id}; }},
      {"Region", [](const Finding& f) { return std::vector<std::string>{f.region}; }},
      {"Type", [](const Finding& f) { return f.types; }},
      {"Title", [](const Finding& f) { return std::vector<std::string>{f.title}; }},
      {"Description", [](const Finding& f) { return std::vector<std::string>{f.description}; }},
      {"SeverityLabel", [](const Finding& f) { return std::vector<std::string>{f.severity}; }},
      {"ComplianceStatus",
       [](const Finding& f) { return std::vector<std::string>{f.compliance_status}; }},
      {"ComplianceSecurityControlId",
       [](const Finding& f) { return std::vector<std::string>{f.control_id}; }},
      {"WorkflowStatus",
       [](const Finding& f) { return std::vector<std::string>{f.workflow_status}; }},
      {"RecordState", [](const Finding& f) { return std::vector<std::string>{f.record_state}; }},
      {"ResourceType", [](const Finding& f) { return std::vector<std::string>{f.resource_type}; }},
      {"ResourceId", [](const Finding& f) { return std::vector<std::string>{f.resource_id}; }},
  };
  return *fields;
}

const std::map<std::string, std::function<int64_t(const Finding&)>, std::less<>>& DateFields() {
  static const auto* fields =
      new std::map<std::string, std::function<int64_t(const Finding&)>, std::less<>>{
          {"CreatedAt", [](const Finding& f) { return f.created_ms; }},
          {"UpdatedAt", [](const Finding& f) { return f.updated_ms; }},
          {"FirstObservedAt", [](const Finding& f) { return f.first_observed_ms; }},
          {"LastObservedAt", [](const Finding& f) { return f.last_observed_ms; }},
      };
  return *fields;
}

bool Compare(std::string_view comparison, const std::string& actual, const std::string& value) {
  if (comparison == "EQUALS" || comparison == "NOT_EQUALS") return actual == value;
  if (comparison == "PREFIX" || comparison == "PREFIX_NOT_EQUALS") return actual.starts_with(value);
  return actual.find(value) != std::string::npos;  // CONTAINS, NOT_CONTAINS
}

bool Negative(std::string_view comparison) {
  return comparison == "NOT_EQUALS" || comparison == "PREFIX_NOT_EQUALS" ||
         comparison == "NOT_CONTAINS";
}

std::optional<int64_t> ParseIsoMs(const std::string& text) {
  auto t = ParseIso8601(text);
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

// One compiled filter set: every field must match.
class FindingFilter {
 public:
  static Result<FindingFilter> Parse(const json& filters, TimePoint now) {
    FindingFilter out;
    if (filters.is_null()) return out;
    if (!filters.is_object()) return Invalid("Filters must be an object.");
    for (const auto& [field, conditions] : filters.items()) {
      if (!conditions.is_array()) return Invalid("Filter " + field + " must be a list.");
      if (auto it = StringFields().find(field); it != StringFields().end()) {
        StringCondition c{it->second, {}, {}};
        for (const json& cond : conditions) {
          if (!cond.is_object() || !cond.contains("Value") || !cond["Value"].is_string()) {
            return Invalid("Filter " + field + " needs a Value.");
          }
          std::string comparison = cond.value("Comparison", "EQUALS");
          static const std::set<std::string> kComparisons = {
              "EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"};
          if (!kComparisons.count(comparison)) {
            return Invalid("Comparison " + comparison + " is not valid for " + field + ".");
          }
          (Negative(comparison) ? c.negative : c.positive)
              .emplace_back(comparison, cond["Value"].get<std::string>());
        }
        out.strings_.push_back(std::move(c));
      } else if (auto dt = DateFields().find(field); dt != DateFields().end()) {
        for (const json& cond : conditions) {
          DateCondition d{dt->second, INT64_MIN, INT64_MAX};
          if (cond.contains("DateRange") && cond["DateRange"].is_object()) {
            const json& range = cond["DateRange"];
            if (!range.value("Value", json()).is_number_integer() ||
                range.value("Unit", std::string()) != "DAYS") {
              return Invalid("DateRange needs an integer Value and Unit DAYS.");
            }
            d.start = ToUnixMillis(now) - range["Value"].get<int64_t>() * 86400000;
          }
          if (cond.contains("Start")) {
            auto start = ParseIsoMs(cond.value("Start", std::string()));
            if (!start) return Invalid("Start of " + field + " is not an ISO 8601 time.");
            d.start = *start;
          }
          if (cond.contains("End")) {
            auto end = ParseIsoMs(cond.value("End", std::string()));
            if (!end) return Invalid("End of " + field + " is not an ISO 8601 time.");
            d.end = *end;
          }
          out.dates_.push_back(std::move(d));
        }
      } else {
        return Invalid("Filter " + field + " is not supported by this server.");
      }
    }
    return out;
  }

  bool Matches(const Finding& f) const {
    for (const StringCondition& c : strings_) {
      const std::vector<std::string> values = c.read(f);
      auto any = [&](const std::string& comparison, const std::string& value) {
        return std::any_of(values.begin(), values.end(),
                           [&](const std::string& v) { return Compare(comparison, v, value); });
      };
      // Positive conditions on one field OR together; negative ones AND together.
      if (!c.positive.empty() &&
          std::none_of(c.positive.begin(), c.positive.end(),
                       [&](const auto& p) { return any(p.first, p.second); })) {
        return false;
      }
      for (const auto& [comparison, value] : c.negative) {
        if (any(comparison, value)) return false;
      }
    }
    for (const DateCondition& d : dates_) {
      int64_t v = d.read(f);
      if (v < d.start || v > d.end) return false;
    }
    return true;
  }

 private:
  struct StringCondition {
    Accessor read;
    std::vector<std::pair<std::string, std::string>> positive;
    std::vector<std::pair<std::string, std::string>> negative;
  };
  struct DateCondition {
    std::function<int64_t(const Finding&)> read;
    int64_t start;
    int64_t end;
  };
  std::vector<StringCondition> strings_;
  std::vector<DateCondition> dates_;
};

int SeverityRank(const std::string& label) {
  static const std::map<std::string, int> kRank = {
      {"INFORMATIONAL", 0}, {"LOW", 1}, {"MEDIUM", 2}, {"HIGH", 3}, {"CRITICAL", 4}};
  auto it = kRank.find(label);
  return it == kRank.end() ? -1 : it->second;
}

}  // namespace

std::string SecurityHubApi::OperationName(std::string_view method, std::string_view path) {
  if (method == "POST" && path == "/findings") return "GetFindings";
  if (method == "PATCH" && path == "/findings/batchupdate") return "BatchUpdateFindings";
  return {};
}

Result<std::string> SecurityHubApi::Call(const auth::RequestContext& ctx, std::string_view method,
                                         std::string_view path, std::string_view body) const {
  const std::string operation = OperationName(method, path);
  if (operation == "GetFindings") {
    HANGAR_RETURN_IF_ERROR(authorize_(ctx, "securityhub:GetFindings"));
    return GetFindings(ctx, body);
  }
  if (operation == "BatchUpdateFindings") {
    HANGAR_RETURN_IF_ERROR(authorize_(ctx, "securityhub:BatchUpdateFindings"));
    return BatchUpdateFindings(ctx, body);
  }
  return Error(ErrorCode::kUnknownOperation,
               "Security Hub operation " + std::string(method) + " " + std::string(path) +
                   " is not supported by this server.");
}

Result<std::string> SecurityHubApi::GetFindings(const auth::RequestContext& ctx,
                                                std::string_view body) const {
  json request = body.empty() ? json::object()
                 : JsonNestingWithin(body, kMaxJsonDepth) ? json::parse(body, nullptr, false)
                                                          : json(json::value_t::discarded);
  if (!request.is_object()) return Invalid("The request body is not a JSON object.");
  HANGAR_ASSIGN_OR_RETURN(FindingFilter filter,
                          FindingFilter::Parse(request.value("Filters", json()), ctx.now));
  int max_results = 100;
  if (request.contains("MaxResults")) {
    const json& m = request["MaxResults"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 100) {
      return Invalid("MaxResults must be between 1 and 100.");
    }
    max_results = static_cast<int>(m.get<int64_t>());
  }
  // Whatever was recorded before this request is reflected in the findings it reads.
  engine_.Flush();
  HANGAR_ASSIGN_OR_RETURN(std::vector<Finding> all, store_.List(ctx.principal.account_id));
  std::vector<Finding> matching;
  for (Finding& f : all) {
    if (filter.Matches(f)) matching.push_back(std::move(f));
  }
  // Sorting: SortCriteria's first field, else UpdatedAt newest first; ties by Id, so pages are
  // stable.
  std::string sort_field = "UpdatedAt";
  bool ascending = false;
  if (request.contains("SortCriteria") && request["SortCriteria"].is_array() &&
      !request["SortCriteria"].empty()) {
    const json& first = request["SortCriteria"][0];
    sort_field = first.value("Field", std::string("UpdatedAt"));
    ascending = first.value("SortOrder", std::string("desc")) == "asc";
  }
  auto key = [&](const Finding& f) -> std::pair<int64_t, std::string> {
    if (sort_field == "SeverityLabel") return {SeverityRank(f.severity), f.id};
    if (auto dt = DateFields().find(sort_field); dt != DateFields().end()) {
      return {dt->second(f), f.id};
    }
    if (auto st = StringFields().find(sort_field); st != StringFields().end()) {
      auto values = st->second(f);
      return {0, (values.empty() ? std::string() : values[0]) + "\n" + f.id};
    }
    return {f.updated_ms, f.id};
  };
  std::stable_sort(matching.begin(), matching.end(), [&](const Finding& a, const Finding& b) {
    return ascending ? key(a) < key(b) : key(b) < key(a);
  });
  // The token: an offset, bound to the request's filters and sort.
  const std::string fingerprint =
      crypto::Sha256Hex(request.value("Filters", json()).dump() +
                        request.value("SortCriteria", json()).dump())
          .substr(0, 16);
  size_t offset = 0;
  if (request.contains("NextToken") && request["NextToken"].is_string() &&
      !request["NextToken"].get<std::string>().empty()) {
    auto decoded = crypto::Base64Decode(request["NextToken"].get<std::string>());
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!token.is_object() || token.value("f", std::string()) != fingerprint ||
        !token.value("o", json()).is_number_unsigned()) {
      return Invalid("The NextToken is not valid.");
    }
    offset = token["o"].get<size_t>();
  }
  json findings = json::array();
  size_t end = std::min(matching.size(), offset + static_cast<size_t>(max_results));
  for (size_t i = offset; i < end; ++i) findings.push_back(json::parse(ToAsff(matching[i])));
  json response{{"Findings", std::move(findings)}};
  if (end < matching.size()) {
    response["NextToken"] = crypto::Base64Encode(json{{"f", fingerprint}, {"o", end}}.dump());
  }
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> SecurityHubApi::BatchUpdateFindings(const auth::RequestContext& ctx,
                                                        std::string_view body) const {
  json request = JsonNestingWithin(body, kMaxJsonDepth) ? json::parse(body, nullptr, false)
                                                        : json(json::value_t::discarded);
  if (!request.is_object()) return Invalid("The request body is not a JSON object.");
  const json& ids = request.value("FindingIdentifiers", json());
  if (!ids.is_array() || ids.empty() || ids.size() > 100) {
    return Invalid("FindingIdentifiers must list 1 to 100 findings.");
  }
  std::optional<std::string> workflow;
  if (request.contains("Workflow")) {
    std::string status = request["Workflow"].value("Status", std::string());
    if (status != "NEW" && status != "NOTIFIED" && status != "RESOLVED" && status != "SUPPRESSED") {
      return Invalid("Workflow.Status must be NEW, NOTIFIED, RESOLVED or SUPPRESSED.");
    }
    workflow = status;
  }
  std::optional<std::pair<std::string, std::string>> note;
  if (request.contains("Note")) {
    const json& n = request["Note"];
    std::string text = n.is_object() ? n.value("Text", std::string()) : "";
    std::string by = n.is_object() ? n.value("UpdatedBy", std::string()) : "";
    if (text.empty() || text.size() > 512 || by.empty() || by.size() > 512) {
      return Invalid("Note needs Text and UpdatedBy of 1 to 512 characters.");
    }
    note = std::make_pair(text, by);
  }
  if (!workflow && !note) return Invalid("Nothing to update: give Workflow or Note.");
  json processed = json::array();
  json unprocessed = json::array();
  std::set<std::pair<std::string, std::string>> seen;
  for (const json& identifier : ids) {
    const std::string id = identifier.is_object() ? identifier.value("Id", std::string()) : "";
    const std::string product = identifier.is_object() ? identifier.value("ProductArn", std::string()) : "";
    if (!seen.emplace(id, product).second) {
      unprocessed.push_back({{"FindingIdentifier", identifier},
                             {"ErrorCode", "DuplicatedFindingIdentifier"},
                             {"ErrorMessage", "Finding Identifier is duplicated"}});
      continue;
    }
    HANGAR_ASSIGN_OR_RETURN(auto found, store_.Get(ctx.principal.account_id, id));
    if (!found || ProductArn(*found) != product) {
      unprocessed.push_back({{"FindingIdentifier", identifier},
                             {"ErrorCode", "FindingNotFound"},
                             {"ErrorMessage", "Finding Not Found"}});
      continue;
    }
    Finding f = std::move(*found);
    if (workflow) f.workflow_status = *workflow;
    if (note) {
      f.note_text = note->first;
      f.note_updated_by = note->second;
      f.note_updated_at = FormatIso8601(ctx.now, true);
    }
    f.updated_ms = ToUnixMillis(ctx.now);
    HANGAR_RETURN_IF_ERROR(store_.Put(f));
    processed.push_back({{"Id", f.id}, {"ProductArn", product}});
  }
  return json{{"ProcessedFindings", std::move(processed)},
              {"UnprocessedFindings", std::move(unprocessed)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hangar::audit
