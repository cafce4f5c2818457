#pragma once
// The AWS query protocol that IAM and STS speak: form-encoded `Action=...&Version=...` requests,
// XML `<XResponse><XResult>...</XResult><ResponseMetadata>` answers and `<ErrorResponse>` errors
// (docs/reference/iam.md §5). Only the wire shapes; the operations live elsewhere.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hangar::iam {

// The decoded parameters of one request.
class QueryParams {
 public:
  // Errors: kMalformedQueryString for a bad escape.
  static Result<QueryParams> Parse(std::string_view form);

  const std::string& action() const { return action_; }
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;
  // Errors: kValidation "... Value null at '<field>' ... Member must not be null", where field is
  // the parameter's name with a lower-case first letter (AWS's member name).
  Result<std::string> Required(std::string_view name) const;
  // An integer parameter within [min, max]; absent → fallback. Errors: kValidation.
  Result<int> Int(std::string_view name, int min, int max, int fallback) const;
  // `Tags.member.N.Key` / `.Value` style lists, N = 1, 2, ... in order.
  std::vector<std::pair<std::string, std::string>> Pairs(std::string_view list,
                                                         std::string_view key,
                                                         std::string_view value) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::string action_;
};

// A success document: `result` is the inner XML of <ActionResult> (empty: no result element).
std::string QueryResponseXml(std::string_view xmlns, std::string_view action,
                             std::string_view result, std::string_view request_id);

// The query protocol's error document (shared by STS and IAM).
std::string QueryErrorXml(std::string_view xmlns, std::string_view code, std::string_view message,
                          std::string_view request_id, bool sender_fault);

// <name>escaped value</name>
std::string XmlElement(std::string_view name, std::string_view value);
// IAM/STS timestamps: 2026-01-05T10:00:00Z.
std::string IsoTime(int64_t unix_ms);

}  // namespace hangar::iam
