#pragma once
// The POST policy of a browser-based upload: the base64 JSON document a form carries in its
// `policy` field, signed by x-amz-signature, that says until when and with which field values the
// form may upload. Parsing and checking only; the signature is auth's (SigV4Verifier::
// VerifyPostPolicy) and the upload S3Service's.
// Spec: S3 API Reference "Creating a POST Policy" (sigv4-HTTPPOSTConstructPolicy); error texts as
// docs/s3-post-object.md lists them. Functions of their arguments, safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/http_message.h"
#include "common/result.h"

namespace hangar::s3 {

struct PostPolicyCondition {
  enum class Op { kEq, kStartsWith, kContentLengthRange };
  Op op = Op::kEq;
  std::string field;  // lower-case, without '$' ("key", "x-amz-meta-tag", "bucket")
  std::string value;  // eq / starts-with
  // content-length-range: the bounds as written (numbers or numeric strings), checked when used.
  std::string min_text, max_text;
  std::string text;  // the condition as S3 quotes it: ["eq", "$key", "a"]
};

struct PostPolicy {
  TimePoint expiration;
  std::vector<PostPolicyCondition> conditions;
};

// Decodes and parses the `policy` field. Errors: kInvalidPolicyDocument (not base64, not JSON, no
// or a bad expiration, conditions not a list, an unknown or malformed condition).
Result<PostPolicy> ParsePostPolicy(std::string_view policy_base64);

// content-length-range's bounds, inclusive.
struct LengthRange {
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;
};

// Checks a form against its policy, in AWS's order: 1. expiration (kAccessDenied "Invalid according
// to Policy: Policy expired."); 2. every condition against the field it names (`fields`: the
// form's fields, names lower-case, `key` with ${filename} already replaced) or, for `bucket`,
// against `bucket` (kAccessDenied "... Policy Condition failed: <condition>"); 3. every field but
// x-amz-signature, file, policy and x-ignore-* named by some condition (kAccessDenied "... Extra
// input fields: <field>"). Returns the content-length-range the file must respect.
Result<LengthRange> CheckPostPolicy(const PostPolicy& policy, const HeaderList& fields,
                                    std::string_view bucket, TimePoint now);

}  // namespace hangar::s3
