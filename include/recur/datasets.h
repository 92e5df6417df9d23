// Readers for the classification and forecasting data sets of DATA.md: labeled text
// (SpamAssassin mail, label<TAB>text files) and a simple word tokenizer, IDX images
// (Fashion-MNIST, read straight from the .gz files), CSV tables with numeric columns (the vega
// CO2 series), and a stratified train/test split. Every reader validates its input and names the
// file (and the line or byte) in its errors. Leaves out: batching and tensors (the tasks do it),
// text corpora for language models (recur/data.h), fetching (scripts/get-data).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recur::data {

// Texts with one class id each; labels[i] indexes class_names.
struct LabeledText {
  std::vector<std::string> texts;  // UTF-8
  std::vector<int64_t> labels;     // same length as texts, each in [0, class_names.size())
  std::vector<std::string> class_names;
  int64_t skipped = 0;  // examples the reader dropped (see each reader for why)
};

// SpamAssassin from data_dir/spam-assassin/<group>/*.txt (scripts/get-data spam-assassin):
// class_names = {"ham", "spam"}; a group whose folder name contains "spam" is spam, any other
// is ham. Each text is the mail body: what follows the first blank line (a line that is empty
// once a trailing \r is dropped), with \r\n turned into \n. Bytes are read as Latin-1 (each byte
// is its own code point, so every file decodes) and stored as UTF-8. Mails whose body is empty or
// only whitespace are skipped and counted in `skipped`. Files come in sorted path order, so the
// result is the same on every machine. A missing folder is an Error saying to run
// scripts/get-data; a folder without any mail is an Error.
LabeledText load_spam_assassin(const std::string& data_dir);

// A UTF-8 file of lines `label<TAB>text` (split at the first tab; the text may hold more tabs).
// class_names are the distinct labels sorted by their bytes, so ids do not depend on line order.
// A leading BOM is dropped, lines lose a trailing \r, and empty lines are skipped. Errors name
// the file and line: a line without a tab, an empty label or text, no examples at all; invalid
// UTF-8 is an Error with the byte offset in the file.
LabeledText load_labeled_tsv(const std::string& path);

// Words of a UTF-8 text for bag-of-words or word-level models. A word is a maximal run of word
// characters: ASCII letters and digits, and non-ASCII code points other than the punctuation and
// symbol blocks (U+0080..U+00BF except ª µ º, × and ÷, U+2000..U+2BFF, U+3000..U+303F,
// U+FE30..U+FE4F, fullwidth ASCII punctuation, U+FFFD). Everything else (ASCII punctuation,
// whitespace, controls) separates words and is dropped. ASCII and Latin-1 letters are lower-cased
// (À..Þ -> à..þ); other scripts keep their case. So "Don't PANIC, café!" gives
// {"don", "t", "panic", "café"}. Invalid UTF-8 is an Error with the byte offset.
std::vector<std::string> word_tokens(std::string_view utf8_text);

// word_tokens that keeps the punctuation too, like NLTK's wordpunct_tokenize: the same
// lower-cased words, and each maximal run of other characters that are not whitespace or
// controls (ASCII and Unicode spaces, U+0080..U+00A0) as one token. So "Win $1,000!!" gives
// {"win", "$", "1", ",", "000", "!!"} and "<b>" gives {"<", "b", ">"}.
std::vector<std::string> word_punct_tokens(std::string_view utf8_text);

// Grey-scale images, row-major, one byte per pixel.
struct ImageSet {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // (count, rows, cols)
  std::vector<int64_t> labels;  // (count), each in [0, class_names.size())
  std::vector<std::string> class_names;
};

// Images and labels in IDX format, gzip-compressed or not (read through zlib, which passes plain
// files through). Images: big-endian u32 magic 0x00000803, count, rows, cols, then the pixels;
// labels: magic 0x00000801, count, then one byte each. Errors name the file: a wrong magic
// (expected and found), counts that differ, a file shorter or longer than its header says
// ("truncated: expected N bytes of pixels, found M"), a damaged gzip stream, a label >=
// num_classes. class_names are "0", "1", ... (digits, as for MNIST).
ImageSet load_idx(const std::string& images_gz, const std::string& labels_gz,
                  int64_t num_classes = 10);

// Fashion-MNIST from data_dir/fashion-mnist/ (scripts/get-data fashion-mnist links the Debian
// files there): part "train" (train-*-ubyte.gz, 60,000 images) or "test" (t10k-*-ubyte.gz,
// 10,000), 28x28, with the ten class names of the data set (T-shirt/top .. Ankle boot).
ImageSet load_fashion_mnist(const std::string& data_dir, const std::string& part);

// A CSV table: the first record is the header.
struct CsvTable {
  std::string source;                          // the file, for messages
  std::vector<std::string> header;             // column names
  std::vector<std::vector<std::string>> rows;  // each as long as header
  std::vector<int64_t> lines;                  // 1-based line where each row starts in the file
};

// RFC 4180 CSV in UTF-8: fields separated by commas; a field that opens with a double quote may
// hold commas, line breaks and doubled quotes ("a ""b"""); lines end in \n or \r\n. A leading
// BOM is dropped and empty lines are skipped. Errors name the file and line: a row with more or
// fewer fields than the header, a quote inside an unquoted field, text after a closing quote, an
// unterminated quoted field, duplicate or no column names; invalid UTF-8 names the byte offset.
CsvTable load_csv(const std::string& path);

// The values of one column as numbers (decimal or exponent notation, as std::from_chars reads
// them; no surrounding spaces). An unknown column is an Error listing the columns; a field that
// is not a finite number is an Error "source:line N: column 'CO2' has 'abc', not a number".
// `source` names the table in messages (table.source when empty).
std::vector<double> csv_column(const CsvTable& table, const std::string& column,
                               const std::string& source = "");

// Monthly atmospheric CO2 (Mauna Loa) from data_dir/vega/co2-concentration.csv (scripts/get-data
// vega): columns "Date" (YYYY-MM-01), "CO2" and "adjusted CO2" (ppm), checked to be there.
CsvTable load_co2(const std::string& data_dir);

// (train indices, test indices) of a split that keeps every class's share: the indices of each
// class (classes in ascending order) are shuffled with Fisher-Yates on one recur::Rng(seed), and
// the first round(n_c * test_fraction) go to test, the rest to train. Both lists are sorted
// ascending and together hold every index once. test_fraction must be in [0, 1].
std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(
    const std::vector<int64_t>& labels, double test_fraction, uint64_t seed);

}  // namespace recur::data
