// CSV reader and numeric columns on tiny files: quoted fields (commas, doubled quotes, line
// breaks), CRLF, a BOM, empty lines, and every error (ragged rows, stray quotes, unterminated
// quotes, duplicate columns, unknown columns, non-numbers). Leaves out: the real CO2 file
// (real_datasets_test.cc).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/throws_error.h"
#include "recur/datasets.h"
#include "temp_dir.h"

namespace recur::data {
namespace {

using recur::testing::ThrowsError;
using Strings = std::vector<std::string>;

class Csv : public testing::TempDirTest {};

TEST_F(Csv, QuotedFieldsAndLineNumbers) {
  const std::string path = write("t.csv",
                                 "\xEF\xBB\xBF"
                                 "Date,CO2,note\r\n"
                                 "1958-03-01,315.70,\"a, b\"\r\n"
                                 "\r\n"
                                 "1958-04-01,3.1746e2,\"say \"\"hi\"\"\"\n"
                                 "1958-05-01,-1,\"two\nlines\"\n"
                                 "1958-06-01,0,\n");
  const CsvTable table = load_csv(path);
  EXPECT_EQ(table.source, path);
  EXPECT_EQ(table.header, (Strings{"Date", "CO2", "note"}));
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0], (Strings{"1958-03-01", "315.70", "a, b"}));
  EXPECT_EQ(table.rows[1][2], "say \"hi\"");
  EXPECT_EQ(table.rows[2][2], "two\nlines");
  EXPECT_EQ(table.rows[3], (Strings{"1958-06-01", "0", ""}));
  EXPECT_EQ(table.lines, (std::vector<int64_t>{2, 4, 5, 7}));
  EXPECT_EQ(csv_column(table, "CO2"), (std::vector<double>{315.70, 317.46, -1, 0}));
}

TEST_F(Csv, LastLineWithoutNewline) {
  const CsvTable table = load_csv(write("t.csv", "a,b\n1,2"));
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0], (Strings{"1", "2"}));
}

TEST_F(Csv, MalformedFilesNameTheLine) {
  const std::string ragged = write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
  EXPECT_TRUE(
      ThrowsError([&] { load_csv(ragged); }, {ragged + ":3:", "expected 3 fields", "found 2"}));
  const std::string wide = write("wide.csv", "a,b\r\n1,\"2,3\"\r\n4,5,6\r\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(wide); }, {wide + ":3:", "found 3"}));
  const std::string stray = write("stray.csv", "a,b\n1,x\"y\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(stray); }, {stray + ":2:", "quote inside an unquoted"}));
  const std::string after = write("after.csv", "a,b\n1,\"x\"y\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(after); }, {after + ":2:", "after the closing quote"}));
  const std::string open = write("open.csv", "a,b\n1,2\n3,\"x\ny\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(open); }, {open, "unterminated", "opened on line 3"}));
  const std::string twice = write("twice.csv", "a,b,a\n1,2,3\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(twice); }, {twice + ":1:", "'a' appears twice"}));
  const std::string empty = write("empty.csv", "\n\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(empty); }, {empty, "header"}));
  const std::string latin1 = write("latin1.csv", "a\n\xE9\n");
  EXPECT_TRUE(ThrowsError([&] { load_csv(latin1); }, {latin1, "byte offset 2"}));
}

TEST_F(Csv, ColumnErrors) {
  const CsvTable table = load_csv(write("t.csv", "Date,CO2\n1958,315.7\n1959,abc\n1960,\n"));
  EXPECT_TRUE(ThrowsError([&] { csv_column(table, "co2"); },
                          {"no column 'co2'", "the columns are 'Date', 'CO2'"}));
  EXPECT_TRUE(ThrowsError([&] { csv_column(table, "CO2", "co2.csv"); },
                          {"co2.csv:line 3: column 'CO2' has 'abc', not a number"}));
  const CsvTable blank = load_csv(write("b.csv", "x\n1\n\"\"\n"));
  EXPECT_TRUE(ThrowsError([&] { csv_column(blank, "x"); }, {":line 3:", "has '', not a number"}));
  for (const char* bad : {" 1", "1 ", "nan", "inf", "1e999", "0x10", "1,5"}) {
    CsvTable one;
    one.header = {"x"};
    one.rows = {{std::string(bad)}};
    EXPECT_TRUE(ThrowsError([&] { csv_column(one, "x", "s"); }, {"s:line 2:", "not a number"}))
        << bad;
  }
}

TEST_F(Csv, Co2NeedsItsColumns) {
  EXPECT_TRUE(ThrowsError([&] { load_co2(dir_); }, {"run scripts/get-data vega"}));
  write("vega/co2-concentration.csv", "Date,CO2\n1958-03-01,315.70\n");
  EXPECT_TRUE(ThrowsError([&] { load_co2(dir_); }, {"expected a column 'adjusted CO2'"}));
  write("vega/co2-concentration.csv", "Date,CO2,adjusted CO2\n1958-03-01,315.70,314.44\n");
  EXPECT_EQ(csv_column(load_co2(dir_), "adjusted CO2"), (std::vector<double>{314.44}));
}

}  // namespace
}  // namespace recur::data
