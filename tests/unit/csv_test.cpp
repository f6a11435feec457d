// CSV text cells of the report exports (common/util/csv).
#include "common/util/csv.hpp"

#include <gtest/gtest.h>

namespace huxiao {
namespace {

TEST(CsvTextCell, PlainTextIsUnchanged) {
    EXPECT_EQ(csv_text_cell("S-1"), "S-1");
    EXPECT_EQ(csv_text_cell("No.1 Primary"), "No.1 Primary");
    EXPECT_EQ(csv_text_cell(""), "");
    EXPECT_EQ(csv_text_cell("a=b"), "a=b");  // only the first character matters
}

TEST(CsvTextCell, QuotesCommasQuotesAndLineBreaks) {
    EXPECT_EQ(csv_text_cell("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_text_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_text_cell("two\nlines"), "\"two\nlines\"");
}

TEST(CsvTextCell, FormulaStartsAreNeutralised) {
    EXPECT_EQ(csv_text_cell("=1+1"), "'=1+1");
    EXPECT_EQ(csv_text_cell("+86 27 1234"), "'+86 27 1234");
    EXPECT_EQ(csv_text_cell("-2+3"), "'-2+3");
    EXPECT_EQ(csv_text_cell("@SUM(A1)"), "'@SUM(A1)");
    EXPECT_EQ(csv_text_cell("\tx"), "'\tx");
    EXPECT_EQ(csv_text_cell("\r=1"), "\"'\r=1\"");
    // Neutralised and quoted together.
    EXPECT_EQ(csv_text_cell("=HYPERLINK(\"http://x\",\"y\")"),
              "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
}

}  // namespace
}  // namespace huxiao
