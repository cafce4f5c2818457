#include "app/audit_cli.h"

#include <charconv>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "audit/digest.h"
#include "audit/finding.h"
#include "audit/ledger.h"
#include "iam/identity_store.h"
#include "audit/lookup.h"
#include "audit/verify.h"
#include "common/strings.h"

namespace hangar::app {
namespace {

std::string AuditDir(const std::string& data_dir) { return data_dir + "/audit"; }

// ISO 8601 (2026-12-02T07:00:00Z) or epoch seconds.
std::optional<TimePoint> ParseTime(const std::string& text) {
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size()) {
    return FromUnixMillis(seconds * 1000);
  }
  return ParseIso8601(text);
}

bool ParseWindow(const AuditCliOptions& o, std::optional<TimePoint>& from,
                 std::optional<TimePoint>& to) {
  for (auto [text, out, name] : {std::tuple{&o.from, &from, "--from"}, {&o.to, &to, "--to"}}) {
    if (text->empty()) continue;
    *out = ParseTime(*text);
    if (!*out) {
      std::cerr << "hangar: " << name << " must be a time like 2026-12-02T07:00:00Z or epoch "
                << "seconds, got '" << *text << "'\n";
      return false;
    }
  }
  if (from && to && *from > *to) {
    std::cerr << "hangar: --from must not be later than --to\n";
    return false;
  }
  return true;
}

// The report's lines, the same for the file trail and the ledger; the exit status.
int PrintReport(const audit::VerifyReport& report, const std::string& public_key,
                std::string_view checked) {
  std::cout << "digest key " << audit::DigestKey::Fingerprint(public_key) << "\n"
            << report.digests_checked << " digests and " << report.logs_checked << " "
            << checked << " checked";
  if (report.first_start && report.last_end) {
    std::cout << ", " << FormatIso8601(*report.first_start, false) << " to "
              << FormatIso8601(*report.last_end, false);
  }
  std::cout << "\n";
  for (const std::string& path : report.undigested) {
    std::cout << "not yet digested: " << path << "\n";
  }
  if (report.ok()) {
    std::cout << "OK: the trail is intact\n";
    return 0;
  }
  for (const std::string& problem : report.problems) std::cout << "FAILED: " << problem << "\n";
  return 1;
}

// Cluster mode: the ledger in the nodes' database, trusted through the root key.
int VerifyClusterLedger(const AuditCliOptions& options, const RootKeySource& root_key,
                        const audit::LedgerWindow& window) {
  auto cluster = OpenDataDir("", root_key, options.metadata);
  if (!cluster.ok()) {
    std::cerr << "hangar: " << cluster.status().message() << "\n";
    return 1;
  }
  auto public_key = audit::LedgerPublicKey(*cluster->metadata, cluster->root_key.get());
  if (!public_key.ok()) {
    std::cout << "FAILED: " << public_key.status().message() << "\n";
    return 1;
  }
  return PrintReport(audit::VerifyLedger(*cluster->metadata, *public_key,
                                         std::chrono::system_clock::now(),
                                         audit::LedgerOptions{}.digest_interval, window),
                     *public_key, "ledger entries");
}

}  // namespace

int AuditVerify(const AuditCliOptions& options, const RootKeySource& root_key) {
  std::optional<TimePoint> from, to;
  if (!ParseWindow(options, from, to)) return 2;
  if (!options.metadata.empty()) return VerifyClusterLedger(options, root_key, {from, to});
  const std::string dir = AuditDir(options.data_dir);
  auto opened = OpenDataDir(options.data_dir, root_key);
  Result<std::string> public_key = InternalError("no root key");
  if (opened.ok()) {
    public_key = audit::DigestKey::LoadPublicKey(dir, opened->root_key.get());
  } else {
    std::cerr << "hangar: warning: without the root key (" << opened.status().message()
              << "), the digest key file's public key is trusted as written\n";
    public_key = audit::DigestKey::LoadPublicKey(dir, nullptr);
  }
  if (!public_key.ok()) {
    std::cout << "FAILED: " << public_key.status().message() << "\n";
    return 1;
  }
  return PrintReport(audit::VerifyTrail(audit::VerifyOptions{dir, *public_key, from, to}),
                     *public_key, "log files");
}

int AuditExport(const AuditCliOptions& options, const RootKeySource& root_key) {
  std::optional<TimePoint> from, to;
  if (!ParseWindow(options, from, to)) return 2;
  std::ofstream file;
  if (options.out != "-") {
    file.open(options.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "hangar: cannot write " << options.out << "\n";
      return 1;
    }
  }
  std::ostream& out = options.out == "-" ? std::cout : file;
  uint64_t count = 0;
  auto emit = [&](std::string_view record) {
    out << record << '\n';
    ++count;
    return static_cast<bool>(out);
  };
  Status s = Status::Ok();
  if (options.metadata.empty()) {
    s = audit::ForEachRecord(AuditDir(options.data_dir), from, to, emit);
  } else {
    auto cluster = OpenDataDir("", root_key, options.metadata);
    s = cluster.ok() ? audit::ForEachLedgerRecord(*cluster->metadata, from, to, emit)
                     : cluster.status();
  }
  out.flush();
  if (!s.ok() || !out) {
    std::cerr << "hangar: export failed: " << (s.ok() ? "write error" : s.message()) << "\n";
    return 1;
  }
  std::cerr << "hangar: exported " << count << " records\n";
  return 0;
}

}  // namespace hangar::app

namespace hangar::app {

int FindingsList(const FindingsCliOptions& options, const RootKeySource& root_key) {
  auto dir = OpenDataDir(options.data_dir, root_key);
  if (!dir.ok()) {
    std::cerr << "hangar: cannot open data directory: " << dir.status().message() << "\n";
    return 1;
  }
  std::vector<std::string> accounts;
  if (!options.account.empty()) {
    accounts.push_back(options.account);
  } else {
    SystemClock clock;
    iam::IdentityStore identities(*dir->metadata, *dir->root_key, clock);
    auto listed = identities.ListAccounts();
    if (!listed.ok()) {
      std::cerr << "hangar: " << listed.status().message() << "\n";
      return 1;
    }
    accounts = *listed;
  }
  audit::FindingStore store(*dir->metadata);
  std::vector<audit::Finding> shown;
  for (const std::string& account : accounts) {
    auto findings = store.List(account);
    if (!findings.ok()) {
      std::cerr << "hangar: " << findings.status().message() << "\n";
      return 1;
    }
    for (audit::Finding& f : *findings) {
      if (options.all || f.record_state == "ACTIVE") shown.push_back(std::move(f));
    }
  }
  auto rank = [](const std::string& severity) {
    for (int i = 0; const char* s : {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"}) {
      if (severity == s) return i;
      ++i;
    }
    return 5;
  };
  std::stable_sort(shown.begin(), shown.end(), [&](const auto& a, const auto& b) {
    return rank(a.severity) != rank(b.severity) ? rank(a.severity) < rank(b.severity)
                                                : a.updated_ms > b.updated_ms;
  });
  if (options.json) {
    for (const audit::Finding& f : shown) std::cout << audit::ToAsff(f) << "\n";
    return 0;
  }
  std::cout << std::left << std::setw(14) << "SEVERITY" << std::setw(10) << "STATUS"
            << std::setw(64) << "GENERATOR" << "RESOURCE\n";
  for (const audit::Finding& f : shown) {
    const std::string status = f.compliance_status.empty()
                                   ? (f.record_state == "ACTIVE" ? "ACTIVE" : "ARCHIVED")
                                   : f.compliance_status;
    std::cout << std::left << std::setw(14) << f.severity << std::setw(10) << status
              << std::setw(64) << f.generator_id << f.resource_id << "\n"
              << "    " << f.title << " (" << FormatIso8601(FromUnixMillis(f.updated_ms), false)
              << (f.count > 1 ? ", seen " + std::to_string(f.count) + " times" : std::string())
              << ")\n";
  }
  std::cout << shown.size() << " findings\n";
  return 0;
}

}  // namespace hangar::app
