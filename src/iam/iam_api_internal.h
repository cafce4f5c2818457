#pragma once
// IamApi's internals shared by its two files (iam_api.cc: users, keys, groups, roles and the
// dispatch; iam_api_policies.cc: inline, attached and managed policies). Not an interface.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/request_context.h"
#include "common/strings.h"
#include "iam/identity_store.h"
#include "iam/query_protocol.h"

namespace hangar::iam::api {

// One request in flight: the caller, its parameters and the account it acts in.
struct Request {
  IdentityStore& store;
  const auth::RequestContext& ctx;
  const QueryParams& p;
  const std::string& action;
  std::string account;

  // The caller's identity policies must allow iam:<Action> on `resource` (the account root may do
  // everything in its account), with `extra` condition keys (aws:RequestTag/..., aws:TagKeys).
  // Errors: kAccessDenied with AWS's text, naming the resource as `shown` (default: the ARN).
  Status Allow(const std::string& resource, std::string_view shown = {},
               const ContextKeys& extra = {}) const;
  // Allow() on an existing user, group or role by its ARN with its path (as policies see it) and
  // its tags (aws:ResourceTag/...); one that does not exist is arn:aws:iam::<account>:<kind>/<name>.
  // A denial names it "<kind> <name>", as AWS does, so the caller learns neither its path nor
  // whether it exists (docs/hardening.md item 9).
  Status AllowEntity(std::string_view kind, std::string_view name,
                     const ContextKeys& extra = {}) const;
  // arn:aws:iam::<account>:<type><path><name>
  std::string Arn(std::string_view type, std::string_view path, std::string_view name) const {
    return "arn:aws:iam::" + account + ":" + std::string(type) + std::string(path) +
           std::string(name);
  }
};

using Handler = std::function<Result<std::string>(Request&)>;
using HandlerMap = std::map<std::string, Handler, std::less<>>;

inline std::string Member(const std::string& inner) { return "<member>" + inner + "</member>"; }
inline std::string Bool(bool b) { return b ? "true" : "false"; }
// Policy documents travel URL-encoded inside the XML, as AWS sends them.
inline std::string Encoded(std::string_view document) { return UriEncode(document, false); }

template <typename R, typename F>
std::string ListXml(std::string_view element, const Listing<R>& listing, F&& render) {
  std::string out = "<" + std::string(element) + ">";
  for (const auto& item : listing.items) out += Member(render(item));
  out += "</" + std::string(element) + ">" + XmlElement("IsTruncated", Bool(listing.truncated));
  if (listing.truncated) out += XmlElement("Marker", listing.marker);
  return out;
}

inline std::string NamesXml(std::string_view element, const std::vector<std::string>& names) {
  std::string out = "<" + std::string(element) + ">";
  for (const auto& n : names) out += XmlElement("member", n);
  return out + "</" + std::string(element) + ">" + XmlElement("IsTruncated", "false");
}

struct Paging {
  std::string path_prefix;
  std::string marker;
  int max_items = 100;
};
// PathPrefix, Marker and MaxItems (1-1000). Errors: kValidation.
Result<Paging> PagingOf(const Request& r);

// Adds the policy actions (Put/Get/Delete/List*Policy, Attach/Detach, managed policies).
void AddPolicyHandlers(HandlerMap& handlers);

}  // namespace hangar::iam::api
