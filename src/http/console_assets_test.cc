#include "http/console_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/strings.h"

namespace hangar::http {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndex = "<!doctype html><title>Planted index</title>";
constexpr std::string_view kApp = "console.log('planted app');";

// A console directory in a temp dir of its own, removed with the fixture.
class ConsoleAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hangar-console-test-" + NewRequestId());
    dir_ = root_ / "console";
    fs::create_directories(dir_ / "assets");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const fs::path& path, std::string_view content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }

  // The usual tree: index.html, app.js, assets/style.css; a file beside (not in) the console.
  std::unique_ptr<ConsoleAssets> LoadPlanted() {
    Write(dir_ / "index.html", kIndex);
    Write(dir_ / "app.js", kApp);
    Write(dir_ / "assets" / "style.css", "body{}");
    Write(root_ / "secret.txt", "outside the console");
    auto loaded = ConsoleAssets::Load(dir_.string());
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? std::move(loaded).value() : nullptr;
  }

  static HttpRequest Get(std::string path, std::string method = "GET") {
    HttpRequest r;
    r.method = std::move(method);
    const size_t q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query = path.substr(q + 1);
    r.target = std::move(path);
    return r;
  }

  fs::path root_;
  fs::path dir_;
};

void ExpectSecurityHeaders(const HttpResponse& r) {
  const std::string_view csp = r.headers.Get("content-security-policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string_view::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string_view::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos) << csp;
  EXPECT_NE(csp.find("object-src 'none'"), std::string_view::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string_view::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string_view::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string_view::npos) << "no third-party origin: " << csp;
  EXPECT_EQ(r.headers.Get("x-frame-options"), "DENY");
  EXPECT_EQ(r.headers.Get("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.headers.Get("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.headers.Get("cache-control"), "no-cache");
}

TEST_F(ConsoleAssetsTest, RootServesIndexWithSecurityHeadersAndStrongEtag) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  EXPECT_EQ(assets->file_count(), 3u);
  HttpResponse r = assets->Serve(Get("/console/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kIndex);
  EXPECT_EQ(r.headers.Get("content-type"), "text/html; charset=utf-8");
  ExpectSecurityHeaders(r);
  const std::string_view etag = r.headers.Get("etag");
  ASSERT_EQ(etag.size(), 34u) << etag;  // quoted 32 hex digits, not weak
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  // The query is ignored.
  EXPECT_EQ(assets->Serve(Get("/console/?lang=en")).body, kIndex);
  EXPECT_EQ(assets->Serve(Get("/console/index.html")).headers.Get("etag"), etag);
}

TEST_F(ConsoleAssetsTest, FilesAndNestedFilesCarryTheirContentTypes) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  HttpResponse app = assets->Serve(Get("/console/app.js"));
  EXPECT_EQ(app.status, 200);
  EXPECT_EQ(app.body, kApp);
  EXPECT_EQ(app.headers.Get("content-type"), "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(app);
  HttpResponse css = assets->Serve(Get("/console/assets/style.css?v=1"));
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.body, "body{}");
  EXPECT_EQ(css.headers.Get("content-type"), "text/css; charset=utf-8");
  // Different files, different tags.
  EXPECT_NE(app.headers.Get("etag"), css.headers.Get("etag"));
}

TEST_F(ConsoleAssetsTest, BareConsoleRedirectsToTheDirectory) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  HttpResponse r = assets->Serve(Get("/console?x=1"));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.headers.Get("location"), "/console/");
  ExpectSecurityHeaders(r);
}

TEST_F(ConsoleAssetsTest, MissingFilesAre404WithSecurityHeaders) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  for (const char* path : {"/console/nope.js", "/console/assets", "/console/assets/",
                           "/console/assets//style.css", "/console/APP.JS"}) {
    HttpResponse r = assets->Serve(Get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("planted"), std::string::npos) << path;
    ExpectSecurityHeaders(r);
  }
}

TEST_F(ConsoleAssetsTest, TraversalAttemptsAre404) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  for (const char* path :
       {"/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/%2E%2E/secret.txt",
        "/console/..%2fsecret.txt", "/console/assets/../../secret.txt",
        "/console/assets/%2e%2e/%2e%2e/secret.txt", "/console/./index.html",
        "/console/assets/../index.html", "/console/%2e/index.html", "/console/..\\secret.txt",
        "/console/index.html%00.js", "/console/%zz", "/console//etc/passwd",
        "/console/%2fetc%2fpasswd"}) {
    HttpResponse r = assets->Serve(Get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("outside the console"), std::string::npos) << path;
  }
}

TEST_F(ConsoleAssetsTest, IfNoneMatchWithTheEtagIs304WithoutBody) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  const std::string etag(assets->Serve(Get("/console/app.js")).headers.Get("etag"));
  for (const std::string& condition : {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
    HttpRequest request = Get("/console/app.js");
    request.headers.Add("If-None-Match", condition);
    HttpResponse r = assets->Serve(request);
    EXPECT_EQ(r.status, 304) << condition;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.headers.Get("etag"), etag);
    ExpectSecurityHeaders(r);
  }
  HttpRequest stale = Get("/console/app.js");
  stale.headers.Add("If-None-Match", "\"0123456789abcdef0123456789abcdef\"");
  EXPECT_EQ(assets->Serve(stale).status, 200);
  EXPECT_EQ(assets->Serve(stale).body, kApp);
}

TEST_F(ConsoleAssetsTest, HeadHasTheLengthButNoBody) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  HttpResponse r = assets->Serve(Get("/console/app.js", "HEAD"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.headers.Get("content-length"), std::to_string(kApp.size()));
  EXPECT_EQ(r.headers.Get("content-type"), "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(r);
  HttpResponse missing = assets->Serve(Get("/console/nope", "HEAD"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.empty());
}

TEST_F(ConsoleAssetsTest, OtherMethodsAre405) {
  auto assets = LoadPlanted();
  ASSERT_NE(assets, nullptr);
  HttpResponse r = assets->Serve(Get("/console/app.js", "PUT"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("allow"), "GET, HEAD");
}

TEST_F(ConsoleAssetsTest, MissingDirectoryServesTheNotBuiltPage) {
  auto loaded = ConsoleAssets::Load((root_ / "absent").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const ConsoleAssets& assets = **loaded;
  EXPECT_TRUE(assets.empty());
  for (const char* path : {"/console/", "/console/app.js"}) {
    HttpResponse r = assets.Serve(Get(path));
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.headers.Get("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("not built"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("make build"), std::string::npos) << r.body;
    ExpectSecurityHeaders(r);
  }
  EXPECT_EQ(assets.Serve(Get("/console")).status, 302);
}

TEST_F(ConsoleAssetsTest, SymlinksAreNotFollowed) {
  Write(dir_ / "index.html", kIndex);
  Write(root_ / "secret.txt", "outside the console");
  fs::create_directories(root_ / "elsewhere");
  Write(root_ / "elsewhere" / "x.js", "outside the console");
  fs::create_symlink(root_ / "secret.txt", dir_ / "secret.txt");
  fs::create_directory_symlink(root_ / "elsewhere", dir_ / "elsewhere");
  auto loaded = ConsoleAssets::Load(dir_.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->file_count(), 1u);
  EXPECT_EQ((*loaded)->Serve(Get("/console/secret.txt")).status, 404);
  EXPECT_EQ((*loaded)->Serve(Get("/console/elsewhere/x.js")).status, 404);
  // The directory itself may be a link (e.g. to the current release).
  fs::create_directory_symlink(dir_, root_ / "current");
  auto via_link = ConsoleAssets::Load((root_ / "current").string());
  ASSERT_TRUE(via_link.ok()) << via_link.status().message();
  EXPECT_EQ((*via_link)->Serve(Get("/console/")).body, kIndex);
}

TEST_F(ConsoleAssetsTest, TooManyBytesFailsNamingTheLimit) {
  Write(dir_ / "index.html", kIndex);
  Write(dir_ / "assets" / "big.js", std::string(1000, 'x'));
  auto loaded = ConsoleAssets::Load(dir_.string(), 1000);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::kInternal);
  EXPECT_NE(loaded.status().message().find("exceed 1000 bytes"), std::string::npos)
      << loaded.status().message();
  EXPECT_TRUE(ConsoleAssets::Load(dir_.string(), 1000 + kIndex.size()).ok());
}

TEST_F(ConsoleAssetsTest, AFileIsNotADirectory) {
  Write(root_ / "file", "x");
  EXPECT_FALSE(ConsoleAssets::Load((root_ / "file").string()).ok());
}

TEST(ConsoleAssetsPath, OnlyConsoleAndBelowAreConsolePaths) {
  EXPECT_TRUE(ConsoleAssets::IsConsolePath("/console"));
  EXPECT_TRUE(ConsoleAssets::IsConsolePath("/console/"));
  EXPECT_TRUE(ConsoleAssets::IsConsolePath("/console/app.js"));
  EXPECT_FALSE(ConsoleAssets::IsConsolePath("/consoles"));
  EXPECT_FALSE(ConsoleAssets::IsConsolePath("/console-logs/key"));
  EXPECT_FALSE(ConsoleAssets::IsConsolePath("/"));
  EXPECT_FALSE(ConsoleAssets::IsConsolePath("/Console/"));
}

TEST(ConsoleAssetsErrorPage, CarriesTheSecurityHeaders) {
  HttpResponse r = ConsoleAssets::ErrorPage(413, "too large");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "too large\n");
  ExpectSecurityHeaders(r);
}

}  // namespace
}  // namespace hangar::http
