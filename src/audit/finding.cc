#include "audit/finding.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "crypto/digest.h"

namespace hangar::audit {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxEventIds = 20;

std::string Iso(int64_t ms) { return FormatIso8601(FromUnixMillis(ms), true); }

json Encode(const Finding& f) {
  return json{{"id", f.id},
              {"product", f.product},
              {"generator", f.generator_id},
              {"account", f.account_id},
              {"region", f.region},
              {"types", f.types},
              {"title", f.title},
              {"description", f.description},
              {"severity", f.severity},
              {"compliance", f.compliance_status},
              {"control", f.control_id},
              {"resourceType", f.resource_type},
              {"resourceId", f.resource_id},
              {"remediation", f.remediation},
              {"remediationUrl", f.remediation_url},
              {"recordState", f.record_state},
              {"workflow", f.workflow_status},
              {"noteText", f.note_text},
              {"noteBy", f.note_updated_by},
              {"noteAt", f.note_updated_at},
              {"created", f.created_ms},
              {"updated", f.updated_ms},
              {"firstObserved", f.first_observed_ms},
              {"lastObserved", f.last_observed_ms},
              {"count", f.count},
              {"events", f.event_ids}};
}

std::string Str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

Result<Finding> Decode(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return InternalError("a stored finding is not a JSON object");
  Finding f;
  f.id = Str(j, "id");
  f.product = Str(j, "product");
  f.generator_id = Str(j, "generator");
  f.account_id = Str(j, "account");
  f.region = Str(j, "region");
  for (const json& t : j.value("types", json::array())) {
    if (t.is_string()) f.types.push_back(t.get<std::string>());
  }
  f.title = Str(j, "title");
  f.description = Str(j, "description");
  f.severity = Str(j, "severity");
  f.compliance_status = Str(j, "compliance");
  f.control_id = Str(j, "control");
  f.resource_type = Str(j, "resourceType");
  f.resource_id = Str(j, "resourceId");
  f.remediation = Str(j, "remediation");
  f.remediation_url = Str(j, "remediationUrl");
  f.record_state = Str(j, "recordState");
  f.workflow_status = Str(j, "workflow");
  f.note_text = Str(j, "noteText");
  f.note_updated_by = Str(j, "noteBy");
  f.note_updated_at = Str(j, "noteAt");
  f.created_ms = Int(j, "created");
  f.updated_ms = Int(j, "updated");
  f.first_observed_ms = Int(j, "firstObserved");
  f.last_observed_ms = Int(j, "lastObserved");
  f.count = Int(j, "count");
  for (const json& e : j.value("events", json::array())) {
    if (e.is_string()) f.event_ids.push_back(e.get<std::string>());
  }
  return f;
}

}  // namespace

std::string FindingId(std::string_view region, std::string_view account,
                      std::string_view generator, std::string_view resource) {
  std::string hash = crypto::Sha256Hex(std::string(generator) + "\n" + std::string(resource));
  // UUID-shaped, as Security Hub's finding ids end.
  std::string uuid = hash.substr(0, 8) + "-" + hash.substr(8, 4) + "-" + hash.substr(12, 4) + "-" +
                     hash.substr(16, 4) + "-" + hash.substr(20, 12);
  return "arn:aws:securityhub:" + std::string(region) + ":" + std::string(account) + ":" +
         std::string(generator) + "/finding/" + uuid;
}

std::string ToAsff(const Finding& f) {
  const std::string product_arn =
      "arn:aws:securityhub:" + f.region + "::product/aws/" + f.product;
  json resource{{"Type", f.resource_type},
                {"Id", f.resource_id},
                {"Partition", "aws"},
                {"Region", f.region}};
  json finding{{"SchemaVersion", "2018-10-08"},
               {"Id", f.id},
               {"ProductArn", product_arn},
               {"ProductName", f.product == "guardduty" ? "GuardDuty" : "Security Hub"},
               {"CompanyName", "AWS"},
               {"Region", f.region},
               {"GeneratorId", f.generator_id},
               {"AwsAccountId", f.account_id},
               {"Types", f.types},
               {"FirstObservedAt", Iso(f.first_observed_ms)},
               {"LastObservedAt", Iso(f.last_observed_ms)},
               {"CreatedAt", Iso(f.created_ms)},
               {"UpdatedAt", Iso(f.updated_ms)},
               {"Severity", {{"Label", f.severity}, {"Original", f.severity}}},
               {"Title", f.title},
               {"Description", f.description},
               {"Resources", json::array({resource})},
               {"WorkflowState", f.workflow_status == "NEW" ? "NEW" : "ASSIGNED"},
               {"Workflow", {{"Status", f.workflow_status}}},
               {"RecordState", f.record_state}};
  if (!f.remediation.empty()) {
    finding["Remediation"] = {{"Recommendation", {{"Text", f.remediation}}}};
    if (!f.remediation_url.empty()) {
      finding["Remediation"]["Recommendation"]["Url"] = f.remediation_url;
    }
  }
  if (!f.compliance_status.empty()) {
    finding["Compliance"] = {{"Status", f.compliance_status}};
    if (!f.control_id.empty()) finding["Compliance"]["SecurityControlId"] = f.control_id;
  }
  json fields = json::object();
  if (!f.control_id.empty()) fields["ControlId"] = f.control_id;
  if (!f.event_ids.empty()) {
    std::string ids;
    for (const std::string& id : f.event_ids) ids += (ids.empty() ? "" : ",") + id;
    fields["hangar/TriggeringEventIds"] = ids;
    fields["hangar/Count"] = std::to_string(f.count);
  }
  if (!fields.empty()) finding["ProductFields"] = std::move(fields);
  if (!f.note_text.empty()) {
    finding["Note"] = {
        {"Text", f.note_text}, {"UpdatedBy", f.note_updated_by}, {"UpdatedAt", f.note_updated_at}};
  }
  return finding.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status FindingStore::Put(const Finding& f) {
  store::Document doc;
  doc.collection = std::string(kCollection);
  doc.partition = f.account_id;
  doc.id = f.id;
  doc.body = Encode(f).dump(-1, ' ', false, json::error_handler_t::replace);
  return store_.Commit({store::Mutation::Upsert(std::move(doc))}).status();
}

Status FindingStore::Upsert(const Finding& incoming) {
  HANGAR_ASSIGN_OR_RETURN(auto existing, Get(incoming.account_id, incoming.id));
  Finding f = incoming;
  if (existing) {
    f.created_ms = existing->created_ms;
    f.first_observed_ms = existing->first_observed_ms;
    f.note_text = existing->note_text;
    f.note_updated_by = existing->note_updated_by;
    f.note_updated_at = existing->note_updated_at;
    // What people decided stays, unless the finding comes back after it was resolved.
    const bool reopened = existing->record_state == "ARCHIVED" && f.record_state == "ACTIVE";
    if (!reopened && incoming.workflow_status == "NEW") {
      f.workflow_status = existing->workflow_status;
    }
    if (!f.event_ids.empty()) {
      // Detections accumulate: how often, and the latest triggering records.
      f.count = existing->count + incoming.count;
      std::vector<std::string> ids = existing->event_ids;
      ids.insert(ids.end(), incoming.event_ids.begin(), incoming.event_ids.end());
      if (ids.size() > kMaxEventIds) ids.erase(ids.begin(), ids.end() - kMaxEventIds);
      f.event_ids = std::move(ids);
    }
    // An unchanged control result is not an update.
    if (existing->compliance_status == f.compliance_status &&
        existing->record_state == f.record_state && f.event_ids.empty() &&
        existing->severity == f.severity && existing->title == f.title) {
      return Status::Ok();
    }
  }
  return Put(f);
}

Result<std::optional<Finding>> FindingStore::Get(std::string_view account, std::string_view id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kCollection, account, id));
  if (!doc) return std::optional<Finding>();
  HANGAR_ASSIGN_OR_RETURN(Finding f, Decode(doc->body));
  return std::optional<Finding>(std::move(f));
}

Result<std::vector<Finding>> FindingStore::List(std::string_view account) {
  std::vector<Finding> out;
  store::ListOptions options;
  options.limit = 1000;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kCollection, account, options));
    for (const auto& doc : docs) {
      HANGAR_ASSIGN_OR_RETURN(Finding f, Decode(doc.body));
      out.push_back(std::move(f));
    }
    if (docs.size() < options.limit) break;
    options.start_after = docs.back().id;
  }
  return out;
}

}  // namespace hangar::audit
