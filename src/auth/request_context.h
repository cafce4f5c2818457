#pragma once
// RequestContext: everything a service operation needs to know about the request it serves, beyond
// its typed input: who is calling, from where, in which region, and the time its lifecycle logic
// should use.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/principal.h"
#include "common/clock.h"

namespace hangar::auth {

// What a service learnt while serving a request that its audit record should carry (audit/event.h):
// the resources it touched, the parameters it parsed, its response for mutating calls. Filled by
// the request's own thread only; null when nothing is recorded (unit tests, internal calls).
struct AuditNotes {
  struct Resource {
    std::string type;  // AWS::KMS::Key, AWS::S3::Bucket, AWS::S3::Object
    std::string arn;
    std::string account_id;
  };
  std::string event_name;            // when the service names the operation (S3)
  std::optional<bool> read_only;     // when the service knows better than the router
  std::optional<bool> data_event;    // S3 object-level operations
  std::vector<Resource> resources;
  std::string request_parameters;    // a JSON object, secrets already left out; empty: null
  std::string response_elements;     // a JSON object for mutating calls; empty: null
  std::string additional_event_data; // a JSON object; empty: none
  std::string recipient_account_id;  // the resource owner, when not the caller
  // The caller, when the service authenticated the request itself after the router admitted it as
  // anonymous (S3 POST Object's signed form): the record names this caller and auth type.
  std::optional<Principal> caller;
  std::string caller_auth_type;
  // Set when a record made on this request's behalf (S3's calls to KMS) could not be written: the
  // request's own response must not leave either.
  std::atomic<bool> related_record_failed{false};

  void AddResource(std::string type, std::string arn, std::string account) {
    for (const Resource& r : resources) {
      if (r.arn == arn) return;
    }
    resources.push_back({std::move(type), std::move(arn), std::move(account)});
  }
};

struct RequestContext {
  Principal principal;
  std::string region;  // from the SigV4 credential scope
  std::string request_id;
  std::string source_ip;
  bool secure_transport = false;
  TimePoint now;  // the lifecycle clock's time at arrival (dev clock aware)
  // Set when one service calls another on the caller's behalf (kms:ViaService), e.g.
  // "s3.us-east-1.amazonaws.com".
  std::string via_service;
  // How the request was signed (S3's s3:authType and s3:signatureAge condition keys).
  std::string auth_type;  // "REST-HEADER" or "REST-QUERY-STRING"; empty when anonymous
  int64_t signature_age_ms = 0;
  std::string user_agent;
  // Where this request's audit record collects what the services learnt; null: not recorded.
  std::shared_ptr<AuditNotes> audit;
};

}  // namespace hangar::auth
