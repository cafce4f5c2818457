#pragma once
// Plain HTTP request/response types shared by the HTTP server and the services. No Beast or Asio
// here: services see only these, so they compile fast and can be driven by tests directly.

#include <any>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar {

// Header fields in arrival order; names are stored lower-case.
class HeaderList {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  void Add(std::string_view name, std::string_view value);
  // Replaces every field of that name with one.
  void Set(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  // First field of that name, or nullptr.
  const std::string* Find(std::string_view name) const;
  std::string_view Get(std::string_view name) const {
    const std::string* v = Find(name);
    return v ? std::string_view(*v) : std::string_view();
  }
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// Pulls a request body incrementally. Read() may block; it returns 0 at the end of the body and an
// error if the connection broke or timed out.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual Result<size_t> Read(std::span<char> into) = 0;
};

// Produces a response body incrementally (object downloads). Same contract as BodyReader.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<size_t> Read(std::span<char> into) = 0;
};

struct HttpRequest {
  std::string method;  // upper-case: GET, PUT, ...
  std::string target;  // raw request target: path?query
  std::string path;    // raw (still percent-encoded) path
  std::string query;   // raw query string without '?'
  HeaderList headers;
  std::optional<uint64_t> content_length;

  // Either the whole body (small requests: KMS/IAM/STS JSON and form bodies) or a reader.
  std::string body;
  BodyReader* body_reader = nullptr;

  std::string remote_address;
  bool secure_transport = false;

  // What the handler's admission step learnt from the header (e.g. the authenticated caller), for
  // its Handle step; opaque to the HTTP layer.
  std::any admitted;
};

// What a response answered, in the handler's terms, for the server's metrics and request log.
struct ExchangeLabels {
  std::string_view service;  // a static name: "kms", "s3", ...; empty if no handler named it
  std::string operation;     // "GenerateDataKey", "GetObject", ...
  std::string request_id;    // as in the response and the audit record
  std::string principal_arn;
  std::string error_code;  // the wire code of an error response
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
  // When set, the body is streamed from here instead; body_length is its exact length.
  std::unique_ptr<BodySource> body_source;
  uint64_t body_length = 0;
  // When set, the response may leave only once `release` reports Ok through `ready` (the
  // request's audit record is durable); on an error the server sends the handler's rendering of
  // that error instead. `ready` may run on any thread.
  std::function<void(std::function<void(const Status&)> ready)> release;
  ExchangeLabels labels;
};

}  // namespace hangar
