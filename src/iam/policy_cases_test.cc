// The policy engine's decision table: every case in testdata/policy_cases.json runs as its own
// test, named <group>_<name>. Expected results follow AWS's documented semantics
// (docs/reference/iam.md §1–§3, §7), not the engine's output.
//
// A decision case: {"group", "name", "policies": {"identity": [doc...], "session": doc,
// "resource": doc, "resource_account", "resource_policy_required", "allowed_by_grant"},
// "request": {"principal_arn", "principal_account", "role_arn", "action", "resource",
// "context": {key: value or [values]}}, "expect": {"decision", "reason", "denial_suffix"?,
// "matched_sid"?}}. A document is a JSON object or a string holding the raw text.
// A parse case: {"group", "name", "parse": {"kind": "identity"|"resource", "document", "error"}}
// where "error" is a substring of the expected message, or null when the document must parse.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/strings.h"
#include "iam/policy.h"

#ifndef HANGAR_IAM_TESTDATA
#error "HANGAR_IAM_TESTDATA must name src/iam/testdata"
#endif

namespace hangar::iam {
namespace {

using nlohmann::json;

constexpr size_t kMinimumCases = 300;

struct Case {
  std::string test_name;
  json data;
};

std::string Sanitise(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

const json& AllCases() {
  static const json* cases = [] {
    std::ifstream in(std::string(HANGAR_IAM_TESTDATA) + "/policy_cases.json");
    auto* doc = new json(json::array());
    if (!in) return doc;
    json file = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (file.is_object() && file.contains("cases") && file["cases"].is_array()) {
      *doc = file["cases"];
    }
    return doc;
  }();
  return *cases;
}

std::vector<Case> LoadCases() {
  std::vector<Case> out;
  for (const auto& c : AllCases()) {
    out.push_back({Sanitise(c.value("group", "nogroup") + "_" + c.value("name", "noname")), c});
  }
  return out;
}

std::string DocumentText(const json& doc) {
  return doc.is_string() ? doc.get<std::string>() : doc.dump();
}

std::vector<std::string> Values(const json& v) {
  if (v.is_array()) return v.get<std::vector<std::string>>();
  return {v.get<std::string>()};
}

Decision ParseDecision(const std::string& s) {
  if (s == "allowed") return Decision::kAllowed;
  if (s == "explicitDeny") return Decision::kExplicitDeny;
  if (s == "implicitDeny") return Decision::kImplicitDeny;
  ADD_FAILURE() << "unknown decision " << s;
  return Decision::kImplicitDeny;
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kAllowed:
      return "allowed";
    case Decision::kExplicitDeny:
      return "explicitDeny";
    case Decision::kImplicitDeny:
      return "implicitDeny";
  }
  return "?";
}

const char* ReasonName(AuthorizationResult::Reason r) {
  using Reason = AuthorizationResult::Reason;
  switch (r) {
    case Reason::kAllowed:
      return "kAllowed";
    case Reason::kIdentityDeny:
      return "kIdentityDeny";
    case Reason::kResourceDeny:
      return "kResourceDeny";
    case Reason::kSessionDeny:
      return "kSessionDeny";
    case Reason::kNoIdentityAllow:
      return "kNoIdentityAllow";
    case Reason::kNoResourceAllow:
      return "kNoResourceAllow";
    case Reason::kNoSessionAllow:
      return "kNoSessionAllow";
  }
  return "?";
}

// Keeps gtest from printing a Case as raw bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.test_name; }

class PolicyCaseTest : public testing::TestWithParam<Case> {
 protected:
  // Parses one document of the case; a failure fails the test.
  const Policy* Load(const json& doc, PolicyKind kind) {
    auto parsed = ParsePolicy(DocumentText(doc), kind);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << DocumentText(doc);
    if (!parsed.ok()) return nullptr;
    keep_.push_back(*parsed);
    return keep_.back().get();
  }

  std::vector<std::shared_ptr<const Policy>> keep_;
};

TEST_P(PolicyCaseTest, MatchesAws) {
  const json& c = GetParam().data;
  SCOPED_TRACE(c.dump(1));

  if (c.contains("parse")) {
    const json& p = c["parse"];
    const PolicyKind kind =
        p.value("kind", "identity") == "resource" ? PolicyKind::kResource : PolicyKind::kIdentity;
    auto parsed = ParsePolicy(DocumentText(p["document"]), kind);
    if (p["error"].is_null()) {
      EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    } else {
      ASSERT_FALSE(parsed.ok()) << "document parsed, expected: " << p["error"];
      EXPECT_NE(parsed.status().message().find(p["error"].get<std::string>()), std::string::npos)
          << "message: " << parsed.status().message();
    }
    return;
  }

  const json& ps = c.at("policies");
  PolicySet set;
  const json identity = ps.value("identity", json::array());
  for (const auto& doc : identity) {
    set.identity.push_back(Load(doc, PolicyKind::kIdentity));
  }
  if (ps.contains("session")) set.session = Load(ps["session"], PolicyKind::kIdentity);
  if (ps.contains("resource")) set.resource = Load(ps["resource"], PolicyKind::kResource);
  set.resource_account = ps.value("resource_account", "");
  set.resource_policy_required = ps.value("resource_policy_required", false);
  set.allowed_by_grant = ps.value("allowed_by_grant", false);
  if (HasFailure()) return;

  const json& rq = c.at("request");
  RequestFacts request;
  request.principal_arn = rq.value("principal_arn", "");
  request.principal_account = rq.value("principal_account", "");
  request.role_arn = rq.value("role_arn", "");
  request.action = rq.at("action").get<std::string>();
  request.resource = rq.value("resource", "");
  const json context = rq.value("context", json::object());
  for (const auto& [key, v] : context.items()) {
    // Callers hand the engine lower-case key names (policy.h's ContextKeys).
    request.context[ToLower(key)] = Values(v);
  }

  const json& expect = c.at("expect");
  const AuthorizationResult result = Authorize(request, set);
  EXPECT_STREQ(DecisionName(result.decision), DecisionName(ParseDecision(expect.at("decision"))));
  EXPECT_EQ(ReasonName(result.reason), expect.at("reason").get<std::string>());
  if (expect.contains("denial_suffix")) {
    EXPECT_EQ(DenialSuffix(result, request.action), expect["denial_suffix"].get<std::string>());
  }
  if (expect.contains("matched_sid")) {
    EXPECT_EQ(result.matched_sid, expect["matched_sid"].get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Table, PolicyCaseTest, testing::ValuesIn(LoadCases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return info.param.test_name;
                         });

TEST(PolicyCasesFileTest, HasAtLeast300UniquelyNamedCases) {
  const auto cases = LoadCases();
  EXPECT_GE(cases.size(), kMinimumCases) << "testdata/policy_cases.json missing or too small";
  std::set<std::string> names;
  for (const auto& c : cases) {
    EXPECT_TRUE(names.insert(c.test_name).second) << "duplicate case name " << c.test_name;
    EXPECT_TRUE(c.data.contains("parse") || c.data.contains("expect")) << c.test_name;
  }
}

}  // namespace
}  // namespace hangar::iam
