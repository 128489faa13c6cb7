// The version has one value everywhere: CMake's project(VERSION) (passed by tests/CMakeLists.txt as
// XENT_TEST_PROJECT_VERSION, and read from the top-level CMakeLists.txt), the XENT_VERSION_*
// macros, xent::version(), CHANGELOG.md's latest release, and every `GIT_TAG v...` that the README,
// docs/ and the consumer project show for FetchContent.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
#include <xent/xent.hpp>

#include "catch.hpp"

namespace {

const std::filesystem::path kRoot = std::filesystem::path(XENT_TEST_DATA_DIR) / "..";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("reading " << path.string());
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string macro_version() {
  return std::to_string(XENT_VERSION_MAJOR) + "." + std::to_string(XENT_VERSION_MINOR) + "." +
         std::to_string(XENT_VERSION_PATCH);
}

// project(xent VERSION x.y.z ...) in the top-level CMakeLists.txt.
std::string cmake_project_version() {
  const std::string text = read_file(kRoot / "CMakeLists.txt");
  std::smatch m;
  const std::regex project(R"(project\s*\(\s*xent\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+))");
  REQUIRE(std::regex_search(text, m, project));
  return m[1].str();
}

// Every `GIT_TAG <value>` in a file.
std::vector<std::string> git_tags(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  const std::regex tag(R"(GIT_TAG\s+([^\s)]+))");
  std::vector<std::string> tags;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), tag); it != std::sregex_iterator();
       ++it) {
    tags.push_back((*it)[1].str());
  }
  return tags;
}

constexpr bool same_text(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

}  // namespace

// A compile-time check too: version() is a constant expression.
static_assert(same_text(xent::version(), XENT_VERSION_STRING), "xent::version()");

TEST_CASE("the XENT_VERSION_* macros match CMake's project(VERSION)", "[version]") {
#ifdef XENT_TEST_PROJECT_VERSION
  CHECK(macro_version() == XENT_TEST_PROJECT_VERSION);
#endif
  CHECK(macro_version() == cmake_project_version());
}

TEST_CASE("xent::version() is MAJOR.MINOR.PATCH from the macros", "[version]") {
  CHECK(std::string(xent::version()) == macro_version());
  CHECK(std::string(XENT_VERSION_STRING) == macro_version());
  CHECK(std::strlen(xent::version()) >= 5);
}

TEST_CASE("CHANGELOG.md has an Unreleased section and the current version's", "[version]") {
  const std::string text = read_file(kRoot / "CHANGELOG.md");
  CHECK(text.find("## [Unreleased]") != std::string::npos);
  // The first release heading after [Unreleased] is the current version.
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex(R"(## \[([0-9]+\.[0-9]+\.[0-9]+)\])")));
  CHECK(m[1].str() == macro_version());
}

TEST_CASE("FetchContent examples pin the current release tag", "[version]") {
  const std::string expected = "v" + macro_version();
  std::vector<std::filesystem::path> files = {kRoot / "README.md",
                                              kRoot / "tests" / "consumer" / "CMakeLists.txt"};
  if (std::filesystem::is_directory(kRoot / "docs")) {
    for (const auto& entry : std::filesystem::directory_iterator(kRoot / "docs")) {
      if (entry.path().extension() == ".md") files.push_back(entry.path());
    }
  }
  std::size_t in_docs = 0;  // README.md and docs/
  for (const auto& file : files) {
    for (const std::string& tag : git_tags(file)) {
      INFO(file.string() << ": GIT_TAG " << tag);
      CHECK(tag == expected);
      if (file.filename() != "CMakeLists.txt") ++in_docs;
    }
  }
  CHECK(in_docs >= 1);  // the README (or a docs page) shows the pinned FetchContent
  CHECK(git_tags(kRoot / "tests" / "consumer" / "CMakeLists.txt").size() == 1);
}
