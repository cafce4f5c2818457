// The REST/XML face of S3 lifecycle: ?lifecycle (Put/Get/DeleteBucketLifecycleConfiguration),
// docs/reference/s3-data-protection.md §3, docs/s3-lifecycle.md.

#include <charconv>
#include <set>

#include "common/strings.h"
#include "s3/api_ops.h"

namespace hangar::s3::api {
namespace {

constexpr size_t kMaxRules = 1000;
constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kTransitionClasses[] = {"GLACIER",      "STANDARD_IA", "ONEZONE_IA",
                                                   "INTELLIGENT_TIERING", "DEEP_ARCHIVE",
                                                   "GLACIER_IR"};

// A whole decimal number, nothing else around it.
std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

Result<int> NonNegative(const XmlNode* node) {
  if (node == nullptr) return MalformedXmlError();
  auto v = ParseInt64(node->text);
  if (!v || *v < 0 || *v > 1'000'000) return MalformedXmlError();
  return static_cast<int>(*v);
}

// A lifecycle Date: ISO 8601 at midnight UTC.
Result<int64_t> MidnightDate(const XmlNode& node) {
  auto at = ParseIso8601(node.text);
  if (!at) return MalformedXmlError();
  const int64_t ms = ToUnixMillis(*at);
  if (ms % kDayMs != 0) {
    return Error(ErrorCode::kValidation, "'Date' must be at midnight GMT")
        .WithField("ArgumentName", "Date")
        .WithField("ArgumentValue", node.text);
  }
  return ms;
}

Status AddTag(const XmlNode& tag, LifecycleTags& tags) {
  const XmlNode* key = tag.Child("Key");
  const XmlNode* value = tag.Child("Value");
  if (key == nullptr) return MalformedXmlError();
  for (const auto& [k, v] : tags) {
    if (k == key->text) return Error(ErrorCode::kInvalidRequest, "Duplicate Tag Keys are not allowed.");
  }
  tags.emplace_back(key->text, value ? value->text : "");
  return Status::Ok();
}

// The conditions of <Filter> or of its <And>: Prefix, Tag(s), ObjectSizeGreaterThan/LessThan.
Status ParseConditions(const XmlNode& node, LifecycleFilter& f) {
  for (const XmlNode& c : node.children) {
    if (c.name == "Prefix") {
      f.prefix = c.text;
      f.prefix_element = true;
    } else if (c.name == "Tag") {
      HANGAR_RETURN_IF_ERROR(AddTag(c, f.tags));
    } else if (c.name == "ObjectSizeGreaterThan" || c.name == "ObjectSizeLessThan") {
      auto v = ParseInt64(c.text);
      if (!v || *v < 0) return MalformedXmlError();
      (c.name == "ObjectSizeGreaterThan" ? f.size_greater_than : f.size_less_than) =
          static_cast<uint64_t>(*v);
    } else {
      return MalformedXmlError();
    }
  }
  return Status::Ok();
}

Status ParseFilter(const XmlNode& rule, LifecycleFilter& f) {
  const XmlNode* filter = rule.Child("Filter");
  const XmlNode* prefix = rule.Child("Prefix");
  if ((filter == nullptr) == (prefix == nullptr)) return MalformedXmlError();
  if (prefix != nullptr) {
    f.form = LifecycleFilter::Form::kRulePrefix;
    f.prefix = prefix->text;
    return Status::Ok();
  }
  if (const XmlNode* conj = filter->Child("And")) {
    // <And> stands alone in its <Filter>.
    if (filter->children.size() != 1) return MalformedXmlError();
    f.form = LifecycleFilter::Form::kAnd;
    return ParseConditions(*conj, f);
  }
  if (filter->children.size() > 1) return MalformedXmlError();  // one condition, or <And>
  return ParseConditions(*filter, f);
}

Status ParseExpiration(const XmlNode& node, LifecycleRule& r) {
  const XmlNode* days = node.Child("Days");
  const XmlNode* date = node.Child("Date");
  const XmlNode* marker = node.Child("ExpiredObjectDeleteMarker");
  if ((days != nullptr) + (date != nullptr) + (marker != nullptr) != 1) return MalformedXmlError();
  if (days != nullptr) {
    HANGAR_ASSIGN_OR_RETURN(int d, NonNegative(days));
    if (d == 0) {
      return Error(ErrorCode::kValidation, "'Days' for Expiration action must be a positive integer")
          .WithField("ArgumentName", "Days");
    }
    r.expiration_days = d;
  }
  if (date != nullptr) {
    HANGAR_ASSIGN_OR_RETURN(r.expiration_date_ms, MidnightDate(*date));
  }
  if (marker != nullptr) {
    if (marker->text != "true" && marker->text != "false") return MalformedXmlError();
    r.expired_object_delete_marker = marker->text == "true";
  }
  return Status::Ok();
}

Result<LifecycleTransition> ParseTransition(const XmlNode& node, bool noncurrent) {
  LifecycleTransition t;
  const XmlNode* cls = node.Child("StorageClass");
  if (cls == nullptr || std::find(std::begin(kTransitionClasses), std::end(kTransitionClasses),
                                  cls->text) == std::end(kTransitionClasses)) {
    return MalformedXmlError();
  }
  t.storage_class = cls->text;
  if (noncurrent) {
    HANGAR_ASSIGN_OR_RETURN(t.days, NonNegative(node.Child("NoncurrentDays")));
    if (const XmlNode* n = node.Child("NewerNoncurrentVersions")) {
      HANGAR_ASSIGN_OR_RETURN(t.newer_noncurrent_versions, NonNegative(n));
    }
  } else if (const XmlNode* date = node.Child("Date")) {
    HANGAR_ASSIGN_OR_RETURN(t.date_ms, MidnightDate(*date));
  } else {
    HANGAR_ASSIGN_OR_RETURN(t.days, NonNegative(node.Child("Days")));
  }
  return t;
}

Status ParseActions(const XmlNode& rule, LifecycleRule& r) {
  if (const XmlNode* e = rule.Child("Expiration")) HANGAR_RETURN_IF_ERROR(ParseExpiration(*e, r));
  if (const XmlNode* n = rule.Child("NoncurrentVersionExpiration")) {
    HANGAR_ASSIGN_OR_RETURN(r.noncurrent_days, NonNegative(n->Child("NoncurrentDays")));
    if (const XmlNode* keep = n->Child("NewerNoncurrentVersions")) {
      HANGAR_ASSIGN_OR_RETURN(r.newer_noncurrent_versions, NonNegative(keep));
      if (*r.newer_noncurrent_versions > 100) return MalformedXmlError();
    }
  }
  if (const XmlNode* a = rule.Child("AbortIncompleteMultipartUpload")) {
    HANGAR_ASSIGN_OR_RETURN(r.abort_after_days, NonNegative(a->Child("DaysAfterInitiation")));
    if (!r.filter.tags.empty()) {
      return Error(ErrorCode::kInvalidRequest,
                   "AbortIncompleteMultipartUpload cannot be specified with Tags.");
    }
  }
  for (const XmlNode* t : rule.All("Transition")) {
    HANGAR_ASSIGN_OR_RETURN(auto transition, ParseTransition(*t, false));
    r.transitions.push_back(std::move(transition));
  }
  for (const XmlNode* t : rule.All("NoncurrentVersionTransition")) {
    HANGAR_ASSIGN_OR_RETURN(auto transition, ParseTransition(*t, true));
    r.noncurrent_transitions.push_back(std::move(transition));
  }
  return Status::Ok();
}

Result<LifecycleRule> ParseRule(const XmlNode& node) {
  LifecycleRule r;
  if (const XmlNode* id = node.Child("ID")) r.id = id->text;
  if (r.id.size() > 255) {
    return Error(ErrorCode::kValidation, "ID length should not exceed allowed limit of 255")
        .WithField("ArgumentName", "ID");
  }
  const XmlNode* status = node.Child("Status");
  if (status == nullptr || (status->text != "Enabled" && status->text != "Disabled")) {
    return MalformedXmlError();
  }
  r.enabled = status->text == "Enabled";
  HANGAR_RETURN_IF_ERROR(ParseFilter(node, r.filter));
  HANGAR_RETURN_IF_ERROR(ParseActions(node, r));
  return r;
}

Result<LifecycleConfiguration> ParseLifecycle(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "LifecycleConfiguration"));
  XmlNode root = doc.Tree();
  auto rules = root.All("Rule");
  if (rules.empty() || rules.size() > kMaxRules || rules.size() != root.children.size()) {
    return MalformedXmlError();
  }
  LifecycleConfiguration c;
  std::set<std::string> ids;
  for (const XmlNode* node : rules) {
    HANGAR_ASSIGN_OR_RETURN(LifecycleRule rule, ParseRule(*node));
    // A rule without an ID gets one, as S3 does; given IDs must be unique.
    if (rule.id.empty()) rule.id = "rule-" + std::to_string(c.rules.size() + 1);
    if (!ids.insert(rule.id).second) {
      return Error(ErrorCode::kValidation,
                   "Rule ID must be unique. Found same ID for more than one rule")
          .WithField("ArgumentName", "ID")
          .WithField("ArgumentValue", rule.id);
    }
    c.rules.push_back(std::move(rule));
  }
  return c;
}

void RenderConditions(XmlWriter& x, const LifecycleFilter& f) {
  if (f.prefix_element) x.Element("Prefix", f.prefix);
  for (const auto& [k, v] : f.tags) x.Open("Tag").Element("Key", k).Element("Value", v).Close("Tag");
  if (f.size_greater_than) x.Element("ObjectSizeGreaterThan", *f.size_greater_than);
  if (f.size_less_than) x.Element("ObjectSizeLessThan", *f.size_less_than);
}

void RenderTransition(XmlWriter& x, std::string_view element, const LifecycleTransition& t,
                      bool noncurrent) {
  x.Open(element);
  if (t.date_ms) x.Element("Date", FormatIso8601(FromUnixMillis(*t.date_ms), false));
  if (t.days) x.Element(noncurrent ? "NoncurrentDays" : "Days", static_cast<uint64_t>(*t.days));
  if (t.newer_noncurrent_versions) {
    x.Element("NewerNoncurrentVersions", static_cast<uint64_t>(*t.newer_noncurrent_versions));
  }
  x.Element("StorageClass", t.storage_class).Close(element);
}

void RenderRule(XmlWriter& x, const LifecycleRule& r) {
  x.Open("Rule").Element("ID", r.id);
  if (r.filter.form == LifecycleFilter::Form::kRulePrefix) {
    x.Element("Prefix", r.filter.prefix);
  } else {
    x.Open("Filter");
    if (r.filter.form == LifecycleFilter::Form::kAnd) x.Open("And");
    RenderConditions(x, r.filter);
    if (r.filter.form == LifecycleFilter::Form::kAnd) x.Close("And");
    x.Close("Filter");
  }
  x.Element("Status", r.enabled ? "Enabled" : "Disabled");
  if (r.expiration_days || r.expiration_date_ms || r.expired_object_delete_marker) {
    x.Open("Expiration");
    if (r.expiration_days) x.Element("Days", static_cast<uint64_t>(*r.expiration_days));
    if (r.expiration_date_ms) {
      x.Element("Date", FormatIso8601(FromUnixMillis(*r.expiration_date_ms), false));
    }
    if (r.expired_object_delete_marker) x.Bool("ExpiredObjectDeleteMarker", true);
    x.Close("Expiration");
  }
  for (const auto& t : r.transitions) RenderTransition(x, "Transition", t, false);
  for (const auto& t : r.noncurrent_transitions) {
    RenderTransition(x, "NoncurrentVersionTransition", t, true);
  }
  if (r.noncurrent_days) {
    x.Open("NoncurrentVersionExpiration")
        .Element("NoncurrentDays", static_cast<uint64_t>(*r.noncurrent_days));
    if (r.newer_noncurrent_versions) {
      x.Element("NewerNoncurrentVersions", static_cast<uint64_t>(*r.newer_noncurrent_versions));
    }
    x.Close("NoncurrentVersionExpiration");
  }
  if (r.abort_after_days) {
    x.Open("AbortIncompleteMultipartUpload")
        .Element("DaysAfterInitiation", static_cast<uint64_t>(*r.abort_after_days))
        .Close("AbortIncompleteMultipartUpload");
  }
  x.Close("Rule");
}

constexpr std::string_view kMinimumSizeHeader = "x-amz-transition-default-minimum-object-size";

Result<HttpResponse> HandlePutBucketLifecycle(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(LifecycleConfiguration c, ParseLifecycle(body));
  c.transition_minimum_size = r.headers().Has(kMinimumSizeHeader)
                                  ? std::string(r.headers().Get(kMinimumSizeHeader))
                                  : "all_storage_classes_128K";
  if (c.transition_minimum_size != "all_storage_classes_128K" &&
      c.transition_minimum_size != "varies_by_storage_class") {
    return Error(ErrorCode::kInvalidRequest,
                 "Invalid TransitionDefaultMinimumObjectSize found: " + c.transition_minimum_size);
  }
  const std::string minimum = c.transition_minimum_size;
  HANGAR_RETURN_IF_ERROR(s3.PutBucketLifecycle(ctx, r.bucket, std::move(c)));
  HttpResponse response = Empty(200);
  response.headers.Add(std::string(kMinimumSizeHeader), minimum);
  return response;
}

Result<HttpResponse> HandleGetBucketLifecycle(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(LifecycleConfiguration c, s3.GetBucketLifecycle(ctx, r.bucket));
  XmlWriter x("LifecycleConfiguration");
  for (const auto& rule : c.rules) RenderRule(x, rule);
  HttpResponse response = Xml(x.Finish());
  response.headers.Add(std::string(kMinimumSizeHeader), c.transition_minimum_size);
  return response;
}

Result<HttpResponse> HandleDeleteBucketLifecycle(S3Service& s3, const auth::RequestContext& ctx,
                                                 const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucketLifecycle(ctx, r.bucket));
  return Empty(204);
}

}  // namespace

// The Put needs Content-MD5 or a checksum, as on AWS (VerifiedBufferedPayload).
const Operation kPutBucketLifecycle{.name = "PutBucketLifecycleConfiguration",
                                    .body = Body::kXml,
                                    .admission = Admission::kBucketAction,
                                    .action = "s3:PutLifecycleConfiguration",
                                    .handle = HandlePutBucketLifecycle};
const Operation kGetBucketLifecycle{.name = "GetBucketLifecycleConfiguration",
                                    .handle = HandleGetBucketLifecycle};
const Operation kDeleteBucketLifecycle{.name = "DeleteBucketLifecycle",
                                       .handle = HandleDeleteBucketLifecycle};

}  // namespace hangar::s3::api
