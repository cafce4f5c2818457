// POST Object's form reader and policy checker over hostile bytes: the multipart/form-data parser
// (s3/post_form.h) reads every part in uneven pieces as a connection would deliver them, with the
// field limits S3's handler uses, and each form's `policy` field goes through ParsePostPolicy and
// CheckPostPolicy (s3/post_policy.h).
//
// Input: the boundary, a newline, then the body (for example the seeds in corpus/post_form/).
//
// Besides "no crash", the reader's contract is checked: a part's content never contains the
// delimiter, and errors are sticky for a body that does not parse.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/strings.h"
#include "fuzz_support.h"
#include "s3/post_form.h"
#include "s3/post_policy.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "post_form_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hangar;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos || newline == 0 || newline > 70) return 0;
  const std::string_view boundary = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  const std::string delimiter = "\r\n--" + std::string(boundary);

  fuzz::PiecewiseReader raw(body, fuzz::PiecePattern(static_cast<uint32_t>(size)));
  s3::MultipartFormReader reader(raw, boundary);
  const std::vector<size_t> wants = fuzz::PiecePattern(static_cast<uint32_t>(size / 5 + 1));
  HeaderList fields;
  size_t read_number = 0;
  for (int parts = 0; parts < 64; ++parts) {
    Result<std::optional<s3::FormPart>> part = reader.NextPart();
    if (!part.ok() || !*part) break;
    std::string content;
    std::string buffer(1 << 16, '\0');
    bool failed = false;
    while (true) {
      const size_t want = std::max<size_t>(1, wants[read_number++ % wants.size()] % buffer.size());
      Result<size_t> n = reader.ReadPart(std::span<char>(buffer.data(), want));
      if (!n.ok()) {
        failed = true;
        break;
      }
      if (*n == 0) break;
      content.append(buffer.data(), *n);
    }
    if (failed) break;
    if (content.find(delimiter) != std::string::npos) Fail("a part's content holds the delimiter");
    fields.Add(ToLower((*part)->name), content);
  }
  (void)reader.Finish(20 * 1024);

  if (const std::string* policy = fields.Find("policy")) {
    Result<s3::PostPolicy> parsed = s3::ParsePostPolicy(*policy);
    if (parsed.ok()) {
      (void)s3::CheckPostPolicy(*parsed, fields, "bucket", FromUnixMillis(fuzz::kFixedTimeMs));
    }
  }
  return 0;
}
