#pragma once
// Checks an audit directory's chain of digests and the log files they list (digest.h), as
// `aws cloudtrail validate-logs` checks CloudTrail's: each digest's signature and its link to the
// previous one, each listed log file's SHA-256, and that no log file appeared that no digest lists.

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace hangar::audit {

struct VerifyOptions {
  std::string dir;           // DATA_DIR/audit
  std::string public_der;    // the digest key to trust (DigestKey::LoadPublicKey)
  std::optional<TimePoint> from;  // only digests ending at or after
  std::optional<TimePoint> to;    // only digests starting at or before
};

struct VerifyReport {
  int digests_checked = 0;
  int logs_checked = 0;
  std::optional<TimePoint> first_start;
  std::optional<TimePoint> last_end;
  // Problems in chain order; the first is the one to look at. Each names the file and, for a
  // missing digest, the time the gap spans.
  std::vector<std::string> problems;
  // Log files written after the newest digest (the live file, or a crash's): not yet covered.
  std::vector<std::string> undigested;
  bool ok() const { return problems.empty(); }
};

VerifyReport VerifyTrail(const VerifyOptions& options);

}  // namespace hangar::audit
