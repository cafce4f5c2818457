// hangar: the server binary. `hangar serve --data-dir DIR --listen HOST:PORT` opens the data
// directory, creates the default account on first start, and serves KMS, S3, IAM and STS on one
// port until SIGTERM/SIGINT. `hangar admin create-account|list-accounts --data-dir DIR` manage
// accounts, also while a server runs on the same directory (SQLite WAL; the server does not cache
// unknown keys, so a new account's root key works at once). `hangar admin import-root-key` moves
// a root key file into a PKCS#11 token (docs/root-key.md).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/audit_cli.h"
#include "app/control_facts.h"
#include "app/cluster_coherence.h"
#include "app/data_dir.h"
#include "app/dev_clock.h"
#include "app/identity_authorizer.h"
#include "app/kms_gateway.h"
#include "app/lifecycle_runner.h"
#include "app/migrate.h"
#include "app/regions.h"
#include "audit/cloudtrail_api.h"
#include "audit/findings_engine.h"
#include "audit/ledger.h"
#include "audit/securityhub_api.h"
#include "audit/trail.h"
#include "auth/sigv4.h"
#include "common/files.h"
#include "common/secret_bytes.h"
#include "common/strings.h"
#include "http/console_assets.h"
#include "http/operator_endpoints.h"
#include "http/request_observer.h"
#include "http/router.h"
#include "http/server.h"
#include "iam/iam_api.h"
#include "iam/identity_store.h"
#include "iam/sts_api.h"
#include "kms/policy_authorizer.h"
#include "kms/key_repository.h"
#include "kms/key_service.h"
#include "kms/kms_api.h"
#include "s3/s3_api.h"
#include "s3/s3_repository.h"
#include "s3/s3_service.h"

namespace hangar::app {
namespace {

constexpr const char* kDefaultDataDir = "./hangar-data";

struct ServeOptions {
  std::string data_dir;  // empty: kDefaultDataDir, or in cluster mode none at all
  std::string listen = "127.0.0.1:9000";
  std::string region = "us-east-1";
  std::string tls_cert;
  std::string tls_key;
  std::string root_key_file;
  std::string root_key_pkcs11;
  std::string account_id;
  std::string root_access_key_id;
  std::string root_secret_access_key;
  int io_threads = 0;
  int worker_threads = 64;
  size_t max_connections = 0;  // 0: from the descriptor limit
  int idle_timeout = 60;
  int header_timeout = 20;
  int body_timeout = 20;
  uint64_t min_rate = 1024;
  std::string log_level = "info";
  std::string s3_domain = "s3.localhost";
  bool forbid_public_key_policies = false;
  bool allow_core_dumps = false;
  std::string regions;                        // "" = AWS's commercial regions
  std::string admin_listen = "127.0.0.1:0";  // "off" = none
  std::string console_dir;  // "": "console" beside the executable, if it exists; "off": none
  std::string metadata;     // cluster mode: postgresql:// URI; "": DATA_DIR/metadata.db
  std::string blobs;        // cluster mode: rados:// URI; "": DATA_DIR/blobs
  std::string audit = "on";                   // "off": no audit trail (benchmarks only)
  bool audit_lookup_data_events = false;
  int audit_retention_days = 0;  // 0: kept for ever
  int audit_writers = 1;
  int max_on_demand_rotations = 10;
  uint64_t inline_max_size = 16 * 1024;
  std::string request_log;  // "-": standard error; empty: none
  audit::DetectionOptions detections;
  int access_denied_window = 60;
  int mass_delete_window = 60;
};

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// Reads a secret from the environment and removes it: the bytes are overwritten in place (which
// also clears them from /proc/<pid>/environ) and the variable is unset, so neither children nor
// anyone reading the process's environment later finds it.
std::optional<std::string> TakeSecretEnv(const char* name) {
  char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  std::optional<std::string> value;
  if (*v != '\0') value = std::string(v);
  OPENSSL_cleanse(v, std::strlen(v));
  ::unsetenv(name);
  return value;
}

// Process-wide protection of key material, before any is loaded: secrets on a locked, non-dumped
// heap, and no core dumps or ptrace by other processes of the same user unless asked for.
void ProtectSecretsInMemory(bool allow_core_dumps) {
  constexpr size_t kSecureHeapBytes = 4 << 20;
  switch (InitSecretMemory(kSecureHeapBytes)) {
    case SecretMemory::kLocked:
      break;
    case SecretMemory::kUnlocked:
      spdlog::warn("key material is kept out of core dumps but could not be locked in RAM "
                   "(raise RLIMIT_MEMLOCK to at least {} bytes)", kSecureHeapBytes);
      break;
    case SecretMemory::kUnavailable:
      spdlog::warn("OpenSSL's secure heap is unavailable; key material stays on the normal heap");
      break;
  }
  if (!allow_core_dumps) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

std::optional<std::string> FlagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  return Env(env);
}

// The root key as the flags and the environment name it: a file (--root-key-file /
// HANGAR_ROOT_KEY_FILE), a base64 value (HANGAR_ROOT_KEY), or a PKCS#11 token
// (--root-key-pkcs11 / HANGAR_ROOT_KEY_PKCS11, its PIN perhaps in HANGAR_ROOT_KEY_PIN). Secret
// variables are taken out of the environment (TakeSecretEnv); the URI too, as it may hold a PIN.
RootKeySource RootKeySourceFrom(const std::string& root_key_file,
                                const std::string& root_key_pkcs11) {
  RootKeySource source;
  source.file = FlagOrEnv(root_key_file, "HANGAR_ROOT_KEY_FILE");
  source.base64 = TakeSecretEnv("HANGAR_ROOT_KEY");
  std::optional<std::string> uri_from_env = TakeSecretEnv("HANGAR_ROOT_KEY_PKCS11");
  if (!root_key_pkcs11.empty()) {
    source.pkcs11_uri = root_key_pkcs11;
  } else {
    source.pkcs11_uri = std::move(uri_from_env);
  }
  if (std::optional<std::string> pin = TakeSecretEnv("HANGAR_ROOT_KEY_PIN")) {
    source.pkcs11_pin = SecretBytes(AsBytes(*pin));
    OPENSSL_cleanse(pin->data(), pin->size());
  }
  return source;
}

// The data directory, unlocked with the root key the flags and the environment name; its
// metadata in the directory, or in cluster mode in the PostgreSQL database `metadata_uri` names.
auto OpenDataDirWithRootKey(const std::string& data_dir, const std::string& root_key_file,
                            const std::string& root_key_pkcs11,
                            const std::string& metadata_uri = "") {
  // Written by most requests and cached by no node: in cluster mode, no cache drop for these.
  std::vector<std::string> uncached = s3::S3Repository::UncachedCollections();
  uncached.emplace_back(audit::FindingStore::kCollection);
  for (std::string& c : audit::DetectionStateCollections()) uncached.push_back(std::move(c));
  for (std::string& c : audit::AuditLedger::UncachedCollections()) uncached.push_back(std::move(c));
  return OpenDataDir(data_dir, RootKeySourceFrom(root_key_file, root_key_pkcs11), metadata_uri,
                     uncached);
}

// How a cluster node names itself in the audit ledger: host name, listen address and process id.
std::string NodeName(const std::string& listen) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host) + "/" + listen + "/" + std::to_string(getpid());
}

bool SplitListen(const std::string& listen, std::string& host, uint16_t& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

// Where `make build` puts the web console: the directory "console" beside the hangar executable
// (/proc/self/exe, so a symlink to the binary still finds it). "" if the executable is unknown.
std::string ConsoleDirBesideExecutable() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : (exe.parent_path() / "console").string();
}

// The console's files as --console-dir names them, logged in one line. Null: no console
// (--console-dir off, or the executable's directory is unknown). A directory named explicitly
// must exist; the default one is used only if it does.
Result<std::unique_ptr<http::ConsoleAssets>> LoadConsole(const std::string& console_dir) {
  if (console_dir == "off") {
    spdlog::info("console: off (--console-dir off); /console/ paths are S3's");
    return std::unique_ptr<http::ConsoleAssets>();
  }
  const std::string dir = console_dir.empty() ? ConsoleDirBesideExecutable() : console_dir;
  if (dir.empty()) {
    spdlog::info("console: absent (the hangar executable's directory is unknown)");
    return std::unique_ptr<http::ConsoleAssets>();
  }
  std::error_code ec;
  if (!console_dir.empty() && !std::filesystem::exists(dir, ec)) {
    return Error(ErrorCode::kValidation, "--console-dir " + dir + " does not exist");
  }
  HANGAR_ASSIGN_OR_RETURN(auto assets, http::ConsoleAssets::Load(dir));
  if (assets->empty()) {
    spdlog::info("console: absent (no files in {}; `make build` builds them); /console/ says so",
                 dir);
  } else {
    spdlog::info("console: served at /console/ from {} ({} files, {} bytes)", dir,
                 assets->file_count(), assets->total_bytes());
  }
  return assets;
}

std::string CredentialsFileText(const iam::RootCredentials& creds) {
  return "# Root credentials of Hangar account " + creds.account_id +
         ". Keep this file private.\n[default]\naws_access_key_id = " + creds.access_key_id +
         "\naws_secret_access_key = " + creds.secret_access_key + "\n";
}

int Serve(ServeOptions opts) {
  // Logs go to stderr: stdout carries only the start-up banner, which scripts read.
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  // glibc gives each thread that allocates its own arena (up to 8 per core); with dozens of
  // workers that is most of the resident memory. A few arenas suffice for this workload.
  mallopt(M_ARENA_MAX, 4);
  std::string host;
  uint16_t port = 0;
  if (!SplitListen(opts.listen, host, port)) {
    std::cerr << "hangar: --listen must be HOST:PORT, got '" << opts.listen << "'\n";
    return 2;
  }
  const std::vector<std::string> regions = ParseRegionList(opts.regions);
  if (std::find(regions.begin(), regions.end(), opts.region) == regions.end()) {
    std::cerr << "hangar: --region " << opts.region << " is not among the served --regions\n";
    return 2;
  }
  std::string admin_host;
  uint16_t admin_port = 0;
  if (opts.admin_listen != "off" && !SplitListen(opts.admin_listen, admin_host, admin_port)) {
    std::cerr << "hangar: --admin-listen must be HOST:PORT or off, got '" << opts.admin_listen
              << "'\n";
    return 2;
  }
  auto console = LoadConsole(opts.console_dir);
  if (!console.ok()) {
    std::cerr << "hangar: " << console.status().message() << "\n";
    return 2;
  }
  ProtectSecretsInMemory(opts.allow_core_dumps);
  const std::optional<std::string> root_secret_from_env =
      TakeSecretEnv("HANGAR_ROOT_SECRET_ACCESS_KEY");

  // A cluster node needs no data directory: its state is in the database and the pool.
  if (opts.data_dir.empty() && opts.metadata.empty()) opts.data_dir = kDefaultDataDir;
  const bool local_dir = !opts.data_dir.empty();
  if (!local_dir && opts.blobs.empty()) {
    std::cerr << "hangar: a cluster node without --data-dir keeps object bytes in a Ceph pool: "
                 "give --blobs rados://POOL?conf=PATH&id=CLIENT (or a --data-dir)\n";
    return 2;
  }
  // One server per data directory: a second one's recovery would delete the first one's staged
  // blobs. `hangar admin` does not take the lock and keeps working beside a running server.
  std::optional<FileLock> lock;
  if (local_dir) {
    if (Status s = MakeDirectories(opts.data_dir, 0700); !s.ok()) {
      std::cerr << "hangar: " << s.message() << "\n";
      return 1;
    }
    auto locked = FileLock::Acquire(opts.data_dir + "/hangar.lock");
    if (!locked.ok()) {
      std::cerr << "hangar: the data directory " << opts.data_dir
                << " is in use by another Hangar server (" << locked.status().message()
                << "); stop it first\n";
      return 1;
    }
    lock.emplace(std::move(locked).value());
  }

  // Signals are taken by a dedicated thread (sigwait), so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto dir = OpenDataDirWithRootKey(opts.data_dir, opts.root_key_file, opts.root_key_pkcs11,
                                    opts.metadata);
  if (!dir.ok()) {
    std::cerr << "hangar: cannot open data directory: " << dir.status().message() << "\n";
    return 1;
  }

  const bool dev_clock = Env("HANGAR_DEV_CLOCK") == std::optional<std::string>("1");
  SystemClock system_clock;
  OffsetClock offset_clock;
  if (dev_clock) {
    // Dev-clock time must not run backwards across a restart: resume from the stored offset.
    auto offset = LoadDevClockOffset(*dir->metadata);
    if (!offset.ok()) {
      std::cerr << "hangar: " << offset.status().message() << "\n";
      return 1;
    }
    offset_clock.Advance(*offset);
  }
  const Clock& lifecycle_clock = dev_clock ? static_cast<const Clock&>(offset_clock)
                                           : static_cast<const Clock&>(system_clock);

  iam::IdentityStore identities(*dir->metadata, *dir->root_key, lifecycle_clock);
  auto creds = identities.EnsureDefaultAccount(FlagOrEnv(opts.account_id, "HANGAR_ACCOUNT_ID"),
                                             FlagOrEnv(opts.root_access_key_id,
                                                       "HANGAR_ROOT_ACCESS_KEY_ID"),
                                             opts.root_secret_access_key.empty()
                                                 ? root_secret_from_env
                                                 : std::optional(opts.root_secret_access_key));
  if (!creds.ok()) {
    std::cerr << "hangar: cannot set up the default account: " << creds.status().message() << "\n";
    return 1;
  }
  if (local_dir) {
    const std::string creds_file = opts.data_dir + "/root-credentials";
    if (Status s = WriteFileAtomically(creds_file, CredentialsFileText(*creds), 0600); !s.ok()) {
      std::cerr << "hangar: " << s.message() << "\n";
      return 1;
    }
  } else {
    spdlog::info("no --data-dir: the root credentials are written nowhere (give them in "
                 "HANGAR_ROOT_ACCESS_KEY_ID and HANGAR_ROOT_SECRET_ACCESS_KEY)");
  }

  metrics::ServerMetrics metrics;
  auto observer = http::RequestObserver::Create(metrics, opts.request_log);
  if (!observer.ok()) {
    std::cerr << "hangar: " << observer.status().message() << "\n";
    return 1;
  }

  // The audit trail, before anything can be served or changed: every request is recorded in it.
  // Embedded: files in DATA_DIR/audit. Cluster mode: the ledger every node appends to.
  std::unique_ptr<audit::AuditTrail> trail;
  std::unique_ptr<audit::AuditLedger> ledger;
  audit::AuditSink* audit_sink = nullptr;
  std::function<Result<audit::LookupPage>(const audit::LookupQuery&)> lookup;
  auto on_batch = [&metrics](uint64_t records, double seconds, bool failed) {
    metrics.RecordAuditBatch(records, seconds, failed);
  };
  if (opts.audit != "off" && !opts.metadata.empty()) {
    audit::LedgerOptions ledger_options{NodeName(opts.listen), creds->account_id};
    ledger_options.on_batch = on_batch;
    ledger_options.retention = std::chrono::hours(24) * opts.audit_retention_days;
    auto opened = audit::AuditLedger::Open(*dir->metadata, ledger_options, *dir->root_key,
                                           lifecycle_clock);
    if (!opened.ok()) {
      std::cerr << "hangar: cannot open the audit ledger: " << opened.status().message() << "\n";
      return 1;
    }
    ledger = std::move(opened).value();
    audit_sink = ledger.get();
    lookup = [&dir](const audit::LookupQuery& q) { return audit::LookupLedger(*dir->metadata, q); };
  } else if (opts.audit != "off") {
    audit::TrailOptions trail_options{opts.data_dir + "/audit", creds->account_id};
    trail_options.on_batch = on_batch;
    trail_options.retention = std::chrono::hours(24) * opts.audit_retention_days;
    trail_options.writer_threads = opts.audit_writers;
    auto opened = audit::AuditTrail::Open(trail_options, *dir->root_key, lifecycle_clock);
    if (!opened.ok()) {
      std::cerr << "hangar: cannot open the audit trail: " << opened.status().message() << "\n";
      return 1;
    }
    trail = std::move(opened).value();
    audit_sink = trail.get();
    lookup = [audit_dir = opts.data_dir + "/audit"](const audit::LookupQuery& q) {
      return audit::LookupEvents(audit_dir, q);
    };
  } else {
    spdlog::warn("the audit trail is off (--audit off): requests are not recorded");
  }

  kms::KeyPolicyGuardrails guardrails;
  guardrails.forbid_public = opts.forbid_public_key_policies ||
                             Env("HANGAR_FORBID_PUBLIC_KEY_POLICIES") == std::optional<std::string>("1");
  kms::PolicyKeyAuthorizer kms_authorizer(identities, guardrails);
  kms::KeyRepository key_repository(*dir->metadata, *dir->root_key);
  kms::KmsOptions kms_options;
  kms_options.max_on_demand_rotations = opts.max_on_demand_rotations;
  kms_options.regions = regions;
  kms::KeyService key_service(key_repository, kms_authorizer, lifecycle_clock, kms_options);
  kms::KmsApi kms_api(key_service);
  iam::StsApi sts_api(identities);
  iam::IamApi iam_api(identities);
  auth::SigV4Verifier::Options verifier_options;
  verifier_options.regions = regions;
  verifier_options.default_region = opts.region;
  auth::SigV4Verifier verifier(identities, system_clock, verifier_options);

  auto blobs = OpenBlobStore(opts.data_dir, opts.blobs);
  if (!blobs.ok()) {
    std::cerr << "hangar: " << blobs.status().message() << "\n";
    return 1;
  }
  s3::S3Repository s3_repository(*dir->metadata);

  // Findings: controls over the services' state, detections over the records. Every record the
  // engine cares about reaches it through the observed sink once it is durable.
  audit::FindingStore finding_store(*dir->metadata);
  ServiceFacts service_facts(key_repository, s3_repository, identities, opts.region);
  // Cluster nodes count bursts and baselines together: each sees only part of the requests.
  std::unique_ptr<audit::DetectionState> shared_detections;
  if (!opts.metadata.empty()) shared_detections = audit::MakeSharedDetectionState(*dir->metadata);
  audit::FindingsEngine findings(finding_store, service_facts, lifecycle_clock, opts.detections,
                                 shared_detections.get());
  std::unique_ptr<audit::ObservedSink> observed;
  if (audit_sink) observed = std::make_unique<audit::ObservedSink>(*audit_sink, findings);
  key_service.SetAuditSink(observed.get());
  KeyServiceGateway kms_gateway(key_service, observed.get(), &metrics);
  s3::SseEngine sse(kms_gateway, *dir->root_key, lifecycle_clock, s3::SseOptions{});
  s3::S3Access s3_access(identities);
  s3::S3Options s3_options;
  // ACL grants name accounts by canonical id; any account of this server may be named.
  s3_options.accounts = [&identities] { return identities.ListAccounts(); };
  s3_options.inline_max_size = opts.inline_max_size;
  s3::S3Service s3_service(s3_repository, **blobs, sse, s3_access, lifecycle_clock,
                           std::move(s3_options));
  // Before serving: finish or undo what a crash interrupted.
  s3_service.SetAuditSink(observed.get());
  if (Status s = s3_service.Recover(); !s.ok()) {
    std::cerr << "hangar: S3 recovery failed: " << s.message() << "\n";
    return 1;
  }
  s3::S3ApiOptions s3_api_options;
  s3_api_options.virtual_host_domains = {opts.s3_domain};
  if (host != "0.0.0.0" && host != "::" && host.find_first_not_of("0123456789.:") != std::string::npos) {
    s3_api_options.virtual_host_domains.push_back(ToLower(host));
  }
  s3_api_options.post_signatures = &verifier;
  s3::S3Api s3_api(s3_service, s3_api_options);

  // Cluster mode: the node's caches follow the other nodes' writes (ClusterCoherence), the dev
  // clock among them.
  std::unique_ptr<ClusterCoherence> coherence;
  if (!opts.metadata.empty()) {
    std::vector<std::function<void()>> invalidators{
        [&key_repository] { key_repository.InvalidateAll(); },
        [&identities] { identities.InvalidateCaches(); },
        [&s3_repository] { s3_repository.InvalidateAll(); }};
    if (dev_clock) {
      invalidators.push_back([&dir, &offset_clock] {
        auto offset = LoadDevClockOffset(*dir->metadata);
        if (offset.ok()) offset_clock.AdvanceTo(*offset);
      });
    }
    coherence = std::make_unique<ClusterCoherence>(*dir->metadata, std::move(invalidators));
  }

  // Time-driven work, done once however many nodes share the store: under the store's work lock,
  // after catching up with what the node that held it last did.
  LifecycleRunner lifecycle(
      [&](bool asked) -> Status {
        return RunExclusively(*dir->metadata, "lifecycle", asked, [&]() -> Status {
          if (coherence) HANGAR_RETURN_IF_ERROR(coherence->Sync());
          auto changed = key_service.RunDueTasks();
          if (!changed.ok()) return changed.status();
          auto purged = identities.PurgeExpiredSessions();
          if (!purged.ok()) return purged.status();
          auto cleaned = s3_service.RunMaintenance();
          return cleaned.ok() ? Status::Ok() : cleaned.status();
        });
      },
      std::chrono::seconds(60));

  if (Status s = findings.EvaluateAll(); !s.ok()) {
    std::cerr << "hangar: evaluating the Security Hub controls failed: " << s.message() << "\n";
    return 1;
  }
  audit::SecurityHubApi securityhub_api(finding_store, findings,
                                        IdentityPolicyAuthorizer(identities));
  audit::CloudTrailApi cloudtrail_api(
      audit::CloudTrailOptions{lookup, opts.audit_lookup_data_events},
      IdentityPolicyAuthorizer(identities));

  http::RouterOptions router_options;
  router_options.default_region = opts.region;
  router_options.dev_clock = dev_clock;
  router_options.observer = observer->get();
  router_options.console = console->get();
  // Cluster mode: every request first checks the node's caches against the other nodes' writes.
  if (coherence) router_options.before_request = [&coherence] { return coherence->Sync(); };
  http::Router router(router_options, verifier, kms_api, sts_api, iam_api, s3_api, lifecycle_clock,
                      [&](std::chrono::seconds by) {
                        HANGAR_ASSIGN_OR_RETURN(
                            std::chrono::milliseconds offset,
                            AdvanceDevClockOffset(
                                *dir->metadata,
                                std::chrono::duration_cast<std::chrono::milliseconds>(by)));
                        offset_clock.AdvanceTo(offset);
                        return lifecycle.RunNow();
                      },
                      http::AuditServices{observed.get(), audit_sink ? &cloudtrail_api : nullptr,
                                          audit_sink ? &securityhub_api : nullptr});
  http::OperatorEndpoints operator_endpoints(
      [&key_service]() {
        nlohmann::json calls = key_service.CallCounts();
        return nlohmann::json{{"kms_calls", calls}}.dump();
      },
      [&metrics]() { return metrics.Scrape(); });

  http::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.io_threads = opts.io_threads;
  server_options.worker_threads = opts.worker_threads;
  server_options.max_connections = opts.max_connections;
  server_options.idle_timeout = std::chrono::seconds(opts.idle_timeout);
  server_options.header_timeout = std::chrono::seconds(opts.header_timeout);
  server_options.body_timeout = std::chrono::seconds(opts.body_timeout);
  server_options.min_rate = opts.min_rate;
  server_options.tls_cert_file = opts.tls_cert;
  server_options.tls_key_file = opts.tls_key;
  auto server = http::Server::Create(server_options, router);
  if (!server.ok()) {
    std::cerr << "hangar: " << server.status().message() << "\n";
    return 1;
  }
  metrics.AddGauge("hangar_open_connections", "Client connections open now (serving or idle)",
                   [&server]() { return static_cast<double>((*server)->open_connections()); });
  if (trail) {
    metrics.AddGauge("hangar_audit_queue_depth", "Audit records queued, not yet being written",
                     [&trail]() { return static_cast<double>(trail->stats().queue_depth); });
  }
  std::unique_ptr<http::Server> admin_server;
  if (opts.admin_listen != "off") {
    http::ServerOptions admin_options;
    admin_options.host = admin_host;
    admin_options.port = admin_port;
    admin_options.io_threads = 1;
    admin_options.worker_threads = 1;
    admin_options.max_connections = 64;
    auto created = http::Server::Create(admin_options, operator_endpoints);
    if (!created.ok()) {
      std::cerr << "hangar: admin listener: " << created.status().message() << "\n";
      return 1;
    }
    admin_server = std::move(*created);
  }

  const std::string scheme = (*server)->tls() ? "https" : "http";
  const std::string display_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "Hangar listening on " << scheme << "://" << display_host << ":" << (*server)->port()
            << "\n"
            << "  account:      " << creds->account_id << "\n"
            << "  region:       " << opts.region << "\n"
            << "  credentials:  "
            << (local_dir ? opts.data_dir + "/root-credentials" : "(no --data-dir: not written)")
            << "\n";
  if (*console && !(*console)->empty()) {
    std::cout << "  console:      " << scheme << "://" << display_host << ":" << (*server)->port()
              << "/console/\n";
  }
  if (admin_server) {
    const std::string shown = admin_host.find(':') != std::string::npos ? "[" + admin_host + "]"
                                                                         : admin_host;
    std::cout << "  admin:        http://" << shown << ":" << admin_server->port() << "\n";
  }
  if (creds->created) {
    std::cout << "  first start: created the root access key\n"
              << "    AWS_ACCESS_KEY_ID=" << creds->access_key_id << "\n";
  }
  // The secret is shown only where a person reads it: never when it was given to us, and never
  // into a pipe or a log collector (the credentials file is its durable home).
  if (creds->secret_generated && ::isatty(STDOUT_FILENO)) {
    std::cout << "    AWS_SECRET_ACCESS_KEY=" << creds->secret_access_key << "\n";
  }
  if (dev_clock) std::cout << "  dev clock:    POST /_hangar/dev/clock?advance=SECONDS\n";
  std::cout << std::flush;

  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("signal {} received; finishing requests in flight", received);
    (*server)->Stop();
    if (admin_server) admin_server->Stop();
  });

  std::thread admin_thread;
  if (admin_server) admin_thread = std::thread([&] { admin_server->Run(); });
  (*server)->Run();
  if (admin_server) admin_server->Stop();
  if (admin_thread.joinable()) admin_thread.join();
  // Run() returned without a signal only if the server failed; make the signal thread return.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  // The last digest: the final log file (or ledger entry) is covered, and `hangar audit verify`
  // passes at rest.
  if (Status closed = trail ? trail->Close() : ledger ? ledger->Close() : Status::Ok();
      !closed.ok()) {
    spdlog::error("audit trail: the final digest failed: {}", closed.message());
  }
  (*observer)->Flush();
  spdlog::info("stopped");
  return 0;
}

// The root key flags of the subcommands that open a data directory.
struct RootKeyFlags {
  std::string file;
  std::string pkcs11;
};

// `hangar audit verify`: the root key is found as `serve` finds it.
int ExportAudit(const AuditCliOptions& options, const RootKeyFlags& root_key) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  return AuditExport(options, RootKeySourceFrom(root_key.file, root_key.pkcs11));
}

int VerifyAudit(const AuditCliOptions& options, const RootKeyFlags& root_key) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  return AuditVerify(options, RootKeySourceFrom(root_key.file, root_key.pkcs11));
}

// `hangar findings list`: the root key is found as `serve` finds it.
int ListFindings(const FindingsCliOptions& options, const RootKeyFlags& root_key) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  return FindingsList(options, RootKeySourceFrom(root_key.file, root_key.pkcs11));
}

constexpr const char* kRootKeyPkcs11Help =
    "PKCS#11 URI of the token holding the root key, e.g. 'pkcs11:token=hangar;object=hangar-root"
    "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/hangar/pin' "
    "(HANGAR_ROOT_KEY_PKCS11; PIN also in HANGAR_ROOT_KEY_PIN; docs/root-key.md)";

struct AdminOptions {
  std::string data_dir = "./hangar-data";
  std::string metadata;  // cluster mode: the nodes' PostgreSQL database
  RootKeyFlags root_key;
  std::string account_id;
};

// `hangar admin import-root-key`: moves a data directory's root key from a file into a token
// (docs/root-key.md). 1. The key comes from the file (default DATA_DIR/root.key) or
// HANGAR_ROOT_KEY; 2. with --data-dir, it must open that directory before it is imported; 3. it is
// created in the token, which refuses an existing label; 4. with --data-dir, the token's key must
// open the directory.
int ImportRootKey(const RootKeyFlags& flags, const std::string& data_dir) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  RootKeySource source = RootKeySourceFrom(flags.file, flags.pkcs11);
  if (!source.pkcs11_uri) {
    std::cerr << "hangar: name the token with --root-key-pkcs11 or HANGAR_ROOT_KEY_PKCS11\n";
    return 2;
  }
  if (!source.file && !source.base64 && !data_dir.empty()) {
    source.file = data_dir + "/root.key";
  }
  if (!source.file && !source.base64) {
    std::cerr << "hangar: name the key with --root-key-file or --data-dir (its root.key), or "
                 "HANGAR_ROOT_KEY\n";
    return 2;
  }
  const bool verify = !data_dir.empty();
  Status s = ImportRootKeyToToken(data_dir, source);
  if (!s.ok()) {
    std::cerr << "hangar: import-root-key: " << s.message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"Imported", true},
                              {"VerifiedDataDir", verify ? nlohmann::json(data_dir)
                                                         : nlohmann::json(nullptr)}}
                   .dump(2)
            << std::endl;
  return 0;
}

// `hangar admin migrate`: an embedded data directory into cluster mode (app/migrate.h).
int Migrate(const MigrationPlan& plan, const RootKeyFlags& root_key) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  if (!IsPostgresUri(plan.to_metadata)) {
    std::cerr << "hangar: --to-metadata must be a postgresql:// URI\n";
    return 2;
  }
  auto report = MigrateToCluster(plan, RootKeySourceFrom(root_key.file, root_key.pkcs11));
  if (!report.ok()) {
    std::cerr << "hangar: migrate: " << report.status().message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"Documents", report->documents},
                              {"Blobs", report->blobs},
                              {"BlobBytes", report->blob_bytes},
                              {"Verified", true}}
                   .dump(2)
            << std::endl;
  std::cerr << "hangar: migrated and verified. Start the cluster's nodes with this data "
               "directory's root key (--root-key-file "
            << (root_key.file.empty() ? plan.from_dir + "/root.key" : root_key.file)
            << ", or the same HANGAR_ROOT_KEY or token).\n";
  return 0;
}

// `hangar admin ...`: prints JSON on stdout; errors on stderr with exit status 1.
int Admin(const std::string& command, const AdminOptions& opts) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hangar"));
  auto dir = OpenDataDirWithRootKey(opts.data_dir, opts.root_key.file, opts.root_key.pkcs11,
                                    opts.metadata);
  if (!dir.ok()) {
    std::cerr << "hangar: cannot open data directory: " << dir.status().message() << "\n";
    return 1;
  }
  SystemClock clock;
  iam::IdentityStore identities(*dir->metadata, *dir->root_key, clock);
  if (command == "create-account") {
    std::optional<std::string> id;
    if (!opts.account_id.empty()) id = opts.account_id;
    auto created = identities.CreateAccount(id);
    if (!created.ok()) {
      std::cerr << "hangar: " << created.status().message() << "\n";
      return 1;
    }
    std::cout << nlohmann::json{{"AccountId", created->account_id},
                                {"AccessKeyId", created->access_key_id},
                                {"SecretAccessKey", created->secret_access_key}}
                     .dump(2)
              << std::endl;
    return 0;
  }
  auto accounts = identities.ListAccounts();
  if (!accounts.ok()) {
    std::cerr << "hangar: " << accounts.status().message() << "\n";
    return 1;
  }
  std::cout << nlohmann::json{{"Accounts", *accounts}}.dump(2) << std::endl;
  return 0;
}

}  // namespace
}  // namespace hangar::app

int main(int argc, char** argv) {
  CLI::App app{"Hangar: KMS, S3, IAM and STS on your own machines"};
  const char* const pkcs11_help = hangar::app::kRootKeyPkcs11Help;
  app.require_subcommand(1);
  hangar::app::ServeOptions opts;
  CLI::App* serve = app.add_subcommand("serve", "Run the server");
  serve->add_option("--data-dir", opts.data_dir,
                    "Data directory (created if missing; default ./hangar-data; a cluster node "
                    "needs none)");
  serve->add_option("--metadata", opts.metadata,
                    "Cluster mode: metadata in PostgreSQL (postgresql://USER@HOST:PORT/DB) "
                    "instead of DATA_DIR/metadata.db; needs a root key every node shares");
  serve->add_option("--blobs", opts.blobs,
                    "Cluster mode: object bytes in a Ceph pool (rados://POOL?conf=PATH&id=CLIENT) "
                    "instead of DATA_DIR/blobs");
  serve->add_option("--listen", opts.listen, "HOST:PORT to listen on (port 0: any free port)");
  serve->add_option("--region", opts.region, "Default region");
  serve->add_option("--regions", opts.regions,
                    "Comma-separated regions served (default: AWS's commercial regions)");
  serve->add_option("--admin-listen", opts.admin_listen,
                    "HOST:PORT of the operator listener (metrics, health), or off");
  serve->add_option("--console-dir", opts.console_dir,
                    "Directory of the web console's files, served at /console/ (default: "
                    "'console' beside the hangar executable, if it exists; off: no console)");
  serve->add_option("--tls-cert", opts.tls_cert, "PEM certificate chain: serve HTTPS");
  serve->add_option("--tls-key", opts.tls_key, "PEM private key for --tls-cert");
  serve->add_option("--root-key-file", opts.root_key_file,
                    "32-byte root key file (default: DATA_DIR/root.key, or HANGAR_ROOT_KEY)");
  serve->add_option("--root-key-pkcs11", opts.root_key_pkcs11, pkcs11_help);
  serve->add_option("--account-id", opts.account_id, "Default account id (HANGAR_ACCOUNT_ID)");
  serve->add_option("--root-access-key-id", opts.root_access_key_id,
                    "Root access key id (HANGAR_ROOT_ACCESS_KEY_ID)");
  serve->add_option("--root-secret-access-key", opts.root_secret_access_key,
                    "Root secret access key (HANGAR_ROOT_SECRET_ACCESS_KEY)");
  serve->add_option("--io-threads", opts.io_threads, "I/O threads (0: one per core)");
  serve->add_option("--worker-threads", opts.worker_threads, "Threads for blocking work");
  serve->add_option("--max-connections", opts.max_connections,
                    "Connections served at once (default: from the descriptor limit, at most 4096)");
  serve->add_option("--idle-timeout", opts.idle_timeout,
                    "Seconds a keep-alive connection may wait for its next request")
      ->check(CLI::Range(1, 3600));
  serve->add_option("--header-timeout", opts.header_timeout,
                    "Seconds from a request's first byte to the end of its header")
      ->check(CLI::Range(1, 3600));
  serve->add_option("--body-timeout", opts.body_timeout,
                    "Seconds a request body or response may make no progress")
      ->check(CLI::Range(1, 3600));
  serve->add_option("--min-rate", opts.min_rate,
                    "Bytes per second a body or response must average after a 10 s grace (0: off)");
  serve->add_option("--log-level", opts.log_level, "trace, debug, info, warn, error");
  serve->add_option("--s3-domain", opts.s3_domain,
                    "Domain for virtual-hosted S3 addressing (<bucket>.DOMAIN)");
  serve->add_option("--audit", opts.audit,
                    "on (default): every request recorded in DATA_DIR/audit; off: benchmarks only")
      ->check(CLI::IsMember({"on", "off"}));
  serve->add_option("--detect-access-denied", opts.detections.access_denied_count,
                    "Detection: AccessDenied answers to one principal within the window (10)")
      ->check(CLI::Range(1, 1000000));
  serve->add_option("--detect-access-denied-window", opts.access_denied_window,
                    "Detection: seconds of the AccessDenied window (60)")
      ->check(CLI::Range(1, 86400));
  serve->add_option("--detect-mass-delete", opts.detections.mass_delete_count,
                    "Detection: objects one principal deletes within the window (100)")
      ->check(CLI::Range(1, 100000000));
  serve->add_option("--detect-mass-delete-window", opts.mass_delete_window,
                    "Detection: seconds of the mass-deletion window (60)")
      ->check(CLI::Range(1, 86400));
  serve->add_option("--audit-retention-days", opts.audit_retention_days,
                    "Remove audit log files or ledger entries (with their digests) older than this; 0: keep all")
      ->check(CLI::Range(0, 36500));
  serve->add_option("--audit-writers", opts.audit_writers,
                    "Audit writer threads: 1 makes the largest batches; more overlap their syncs "
                    "(for disks whose sync is slow)")
      ->check(CLI::Range(1, 8));
  serve->add_option("--inline-max-size", opts.inline_max_size,
                    "Objects of up to this many bytes keep their encrypted bytes in their metadata "
                    "record (one shared commit per small PUT); 0: every object in a blob file")
      ->check(CLI::Range(uint64_t{0}, uint64_t{256 * 1024}));
  serve->add_option("--max-on-demand-rotations", opts.max_on_demand_rotations,
                    "RotateKeyOnDemand calls allowed per key (AWS's documented quota is 10)")
      ->check(CLI::Range(1, 1000));
  serve->add_option("--request-log", opts.request_log,
                    "Write a JSON line per request (request id, operation, status, duration) to "
                    "this file, or - for standard error; default: none");
  serve->add_flag("--audit-lookup-data-events", opts.audit_lookup_data_events,
                  "LookupEvents returns S3 data events too (AWS shows management events only)");
  serve->add_flag("--allow-core-dumps", opts.allow_core_dumps,
                  "Debugging only: let the process dump core (key material may then reach disk)");
  serve->add_flag("--forbid-public-key-policies", opts.forbid_public_key_policies,
                  "Refuse key policies that let anyone use a key without a condition limiting the "
                  "callers (HANGAR_FORBID_PUBLIC_KEY_POLICIES=1)");
  hangar::app::AdminOptions admin_opts;
  CLI::App* admin = app.add_subcommand("admin", "Manage accounts in a data directory");
  admin->require_subcommand(1);
  CLI::App* create_account =
      admin->add_subcommand("create-account", "Create an account and its root access key");
  CLI::App* list_accounts = admin->add_subcommand("list-accounts", "List the accounts");
  for (CLI::App* sub : {create_account, list_accounts}) {
    sub->add_option("--data-dir", admin_opts.data_dir, "Data directory")->required();
    sub->add_option("--metadata", admin_opts.metadata,
                    "Cluster mode: the PostgreSQL database the nodes share");
    sub->add_option("--root-key-file", admin_opts.root_key.file,
                    "32-byte root key file (default: DATA_DIR/root.key, or HANGAR_ROOT_KEY)");
    sub->add_option("--root-key-pkcs11", admin_opts.root_key.pkcs11, pkcs11_help);
  }
  hangar::app::RootKeyFlags import_flags;
  std::string import_data_dir;
  CLI::App* import_root_key = admin->add_subcommand(
      "import-root-key",
      "Create a root key file's key in a PKCS#11 token (moving a data directory to the token)");
  import_root_key->add_option("--root-key-file", import_flags.file,
                              "The 32-byte key file to import (default: DATA_DIR/root.key, or "
                              "HANGAR_ROOT_KEY)");
  import_root_key->add_option("--root-key-pkcs11", import_flags.pkcs11, pkcs11_help);
  import_root_key->add_option("--data-dir", import_data_dir,
                              "Data directory the key must open, before and after the import");
  hangar::app::MigrationPlan migration;
  hangar::app::RootKeyFlags migration_root_key;
  CLI::App* migrate = admin->add_subcommand(
      "migrate", "Move an embedded data directory into cluster mode, as it is, and verify the copy");
  migrate->add_option("--from", migration.from_dir, "The data directory (no server running on it)")
      ->required();
  migrate->add_option("--to-metadata", migration.to_metadata,
                      "postgresql:// URI of an empty database for the cluster")
      ->required();
  migrate->add_option("--to-blobs", migration.to_blobs,
                      "rados://POOL?conf=PATH&id=CLIENT of an empty pool for the cluster")
      ->required();
  migrate->add_option("--root-key-file", migration_root_key.file,
                      "32-byte root key file (default: FROM/root.key, or HANGAR_ROOT_KEY)");
  migrate->add_option("--root-key-pkcs11", migration_root_key.pkcs11, pkcs11_help);
  create_account->add_option("--account-id", admin_opts.account_id,
                             "12-digit account id (default: random)");
  hangar::app::AuditCliOptions audit_opts;
  hangar::app::RootKeyFlags audit_root_key;
  CLI::App* audit = app.add_subcommand("audit", "Read the audit trail of a data directory");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check the audit trail's digest chain and log files; name what was altered");
  CLI::App* export_records =
      audit->add_subcommand("export", "Write the audit records as JSON lines (for a SIEM)");
  for (CLI::App* sub : {verify, export_records}) {
    sub->add_option("--data-dir", audit_opts.data_dir, "Data directory (its audit trail)");
    sub->add_option("--metadata", audit_opts.metadata,
                    "Cluster mode: the nodes' PostgreSQL database (its audit ledger)");
    sub->add_option("--from", audit_opts.from, "Start: 2026-12-02T07:00:00Z or epoch seconds");
    sub->add_option("--to", audit_opts.to, "End: 2026-12-02T08:00:00Z or epoch seconds");
  }
  for (CLI::App* sub : {verify, export_records}) {
    sub->add_option("--root-key-file", audit_root_key.file,
                    "32-byte root key file (default: DATA_DIR/root.key, or HANGAR_ROOT_KEY)");
    sub->add_option("--root-key-pkcs11", audit_root_key.pkcs11, pkcs11_help);
  }
  export_records->add_option("--out", audit_opts.out, "File to write (default: stdout)");
  hangar::app::FindingsCliOptions findings_opts;
  hangar::app::RootKeyFlags findings_root_key;
  CLI::App* findings = app.add_subcommand("findings", "Security findings of a data directory");
  findings->require_subcommand(1);
  CLI::App* list_findings =
      findings->add_subcommand("list", "Active findings, most severe first");
  list_findings->add_option("--data-dir", findings_opts.data_dir, "Data directory")->required();
  list_findings->add_option("--account", findings_opts.account, "Only this account");
  list_findings->add_flag("--all", findings_opts.all, "Archived (resolved) findings too");
  list_findings->add_flag("--json", findings_opts.json, "ASFF JSON, one finding per line");
  list_findings->add_option("--root-key-file", findings_root_key.file,
                            "32-byte root key file (default: DATA_DIR/root.key, or HANGAR_ROOT_KEY)");
  list_findings->add_option("--root-key-pkcs11", findings_root_key.pkcs11, pkcs11_help);
  CLI11_PARSE(app, argc, argv);
  if (list_findings->parsed()) {
    return hangar::app::ListFindings(findings_opts, findings_root_key);
  }
  if (verify->parsed()) return hangar::app::VerifyAudit(audit_opts, audit_root_key);
  if (export_records->parsed()) return hangar::app::ExportAudit(audit_opts, audit_root_key);
  if (serve->parsed()) {
    opts.detections.access_denied_window = std::chrono::seconds(opts.access_denied_window);
    opts.detections.mass_delete_window = std::chrono::seconds(opts.mass_delete_window);
    return hangar::app::Serve(opts);
  }
  if (create_account->parsed()) return hangar::app::Admin("create-account", admin_opts);
  if (list_accounts->parsed()) return hangar::app::Admin("list-accounts", admin_opts);
  if (import_root_key->parsed()) return hangar::app::ImportRootKey(import_flags, import_data_dir);
  if (migrate->parsed()) return hangar::app::Migrate(migration, migration_root_key);
  return 0;
}
