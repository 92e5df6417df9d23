// SpamAssassin mail as labeled text: the body of each mail (headers dropped), Latin-1 bytes
// turned into UTF-8, labeled ham or spam by its group folder (see recur/datasets.h). Leaves out:
// MIME decoding (base64, quoted-printable, multipart parts and HTML stay as they are) and the
// charset a mail declares (DATA.md reads them all as Latin-1).
#include <algorithm>
#include <filesystem>

#include "data/dataset_files.h"
#include "recur/datasets.h"
#include "recur/error.h"

namespace recur::data {
namespace {

namespace fs = std::filesystem;

// What follows the first blank line ("" once a trailing \r is dropped); "" when there is none.
std::string_view mail_body(std::string_view mail) {
  size_t start = 0;
  while (start < mail.size()) {
    size_t end = mail.find('\n', start);
    if (end == std::string_view::npos) return {};
    const size_t length = end - start;
    if (length == 0 || (length == 1 && mail[start] == '\r')) return mail.substr(end + 1);
    start = end + 1;
  }
  return {};
}

// Latin-1 bytes as UTF-8, with \r\n turned into \n.
std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') continue;
    if (b < 0x80) {
      out += static_cast<char>(b);
    } else {
      out += static_cast<char>(0xC0 | (b >> 6));
      out += static_cast<char>(0x80 | (b & 0x3F));
    }
  }
  return out;
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

}  // namespace

LabeledText load_spam_assassin(const std::string& data_dir) {
  const std::string root = detail::data_set_dir("spam-assassin", data_dir);
  std::vector<std::pair<fs::path, int64_t>> mails;  // (path, label), sorted by path
  for (const fs::directory_entry& group : fs::directory_iterator(root)) {
    if (!group.is_directory()) continue;
    const int64_t label = group.path().filename().string().find("spam") != std::string::npos;
    for (const fs::directory_entry& entry : fs::directory_iterator(group.path())) {
      if (entry.is_regular_file() && entry.path().extension() == ".txt") {
        mails.emplace_back(entry.path(), label);
      }
    }
  }
  RECUR_CHECK(!mails.empty(), "data set 'spam-assassin': expected mails in " + root +
                                  "/<group>/*.txt, found none; run scripts/get-data "
                                  "spam-assassin");
  std::sort(mails.begin(), mails.end());
  LabeledText data;
  data.class_names = {"ham", "spam"};
  data.texts.reserve(mails.size());
  data.labels.reserve(mails.size());
  for (const auto& [path, label] : mails) {
    const std::string bytes = detail::read_file_bytes(path.string());
    const std::string_view body = mail_body(bytes);
    if (is_blank(body)) {
      ++data.skipped;
      continue;
    }
    data.texts.push_back(latin1_to_utf8(body));
    data.labels.push_back(label);
  }
  return data;
}

}  // namespace recur::data
