// db::Rows against the real PostgreSQL: columns found by name, each type as
// the server prints it, NULLs, and the programmer errors (a column the
// result does not have, a NULL or a value of another type where the reader
// expects one) thrown as std::logic_error naming the column.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "server/db/pg_connection.hpp"
#include "server/db/rows.hpp"
#include "tests/support/test_db.hpp"

namespace huxiao::test {
namespace {

class RowsTest : public ::testing::Test {
  protected:
    db::PgResult select(const std::string& sql) { return conn_.exec(sql); }

    TestDatabase db_;
    db::PgSync conn_{db_.url()};
};

// The message of the std::logic_error that `f` throws ("" if none).
template <class F>
std::string logic_error_of(F f) {
    try {
        f();
    } catch (const std::logic_error& e) {
        return e.what();
    }
    return "";
}

TEST_F(RowsTest, ReadsEachTypeByColumnName) {
    const auto r = select(
        "SELECT 'x' AS t, 42::bigint AS n, -7::int AS small, 2.50::numeric(5,2) AS pct,"
        " 0.125::double precision AS d, true AS yes, false AS no,"
        " '{\"a\":[1,2]}'::jsonb AS doc, '[\"u1\"]'::json AS list");
    const db::Rows rows(r);
    ASSERT_EQ(rows.size(), 1);
    EXPECT_FALSE(rows.empty());
    EXPECT_EQ(rows.text(0, rows.column("t")), "x");
    EXPECT_EQ(rows.int64(0, rows.column("n")), 42);
    EXPECT_EQ(rows.int64(0, rows.column("small")), -7);
    EXPECT_EQ(rows.number(0, rows.column("pct")), 2.5);
    EXPECT_EQ(rows.number(0, rows.column("d")), 0.125);
    EXPECT_TRUE(rows.boolean(0, rows.column("yes")));
    EXPECT_FALSE(rows.boolean(0, rows.column("no")));
    EXPECT_EQ(rows.json(0, rows.column("doc")), nlohmann::json::parse(R"({"a":[1,2]})"));
    EXPECT_EQ(rows.json(0, rows.column("list")), nlohmann::json::array({"u1"}));
    // The column order does not matter, only the names.
    EXPECT_EQ(rows.column("list").index, 8);
    EXPECT_EQ(rows.column("t").index, 0);
}

TEST_F(RowsTest, NullsAreEmptyForOptionalsAndTextAndAnErrorForValues) {
    const auto r = select(
        "SELECT NULL::text AS t, NULL::bigint AS n, NULL::numeric AS x, NULL::boolean AS b,"
        " NULL::jsonb AS j, 'v'::text AS present, 3::bigint AS three, 1.5::float8 AS half");
    const db::Rows rows(r);
    const auto t = rows.column("t"), n = rows.column("n"), x = rows.column("x");
    EXPECT_TRUE(rows.is_null(0, t));
    EXPECT_EQ(rows.text(0, t), "");
    EXPECT_EQ(rows.optional_text(0, t), std::nullopt);
    EXPECT_EQ(rows.optional_int64(0, n), std::nullopt);
    EXPECT_EQ(rows.optional_number(0, x), std::nullopt);
    EXPECT_EQ(rows.optional_text(0, rows.column("present")), std::optional<std::string>("v"));
    EXPECT_EQ(rows.optional_int64(0, rows.column("three")), std::optional<std::int64_t>(3));
    EXPECT_EQ(rows.optional_number(0, rows.column("half")), std::optional<double>(1.5));
    EXPECT_EQ(logic_error_of([&] { rows.int64(0, n); }), "column \"n\": NULL in row 0");
    EXPECT_EQ(logic_error_of([&] { rows.number(0, x); }), "column \"x\": NULL in row 0");
    EXPECT_EQ(logic_error_of([&] { rows.boolean(0, rows.column("b")); }),
              "column \"b\": NULL in row 0");
    EXPECT_EQ(logic_error_of([&] { rows.json(0, rows.column("j")); }),
              "column \"j\": NULL in row 0");
}

TEST_F(RowsTest, AColumnTheResultDoesNotHaveIsALogicErrorNamingIt) {
    const auto r = select("SELECT 1 AS id, 2 AS \"Mixed\"");
    const db::Rows rows(r);
    EXPECT_EQ(logic_error_of([&] { rows.column("school_id"); }),
              "column \"school_id\": not in the result");
    // Names are matched exactly: no folding to lower case.
    EXPECT_EQ(rows.column("Mixed").index, 1);
    EXPECT_EQ(logic_error_of([&] { rows.column("ID"); }), "column \"ID\": not in the result");
    // An unnamed expression is "?column?": the SQL must alias it to be read.
    const auto unnamed = select("SELECT 1 + 1");
    EXPECT_EQ(logic_error_of([&] { db::Rows(unnamed).column("sum"); }),
              "column \"sum\": not in the result");
}

TEST_F(RowsTest, AValueOfAnotherTypeIsALogicErrorNamingTheColumn) {
    const auto r =
        select("SELECT 'abc' AS name, 1.5::numeric AS frac, 'yes' AS flag, 'nope' AS doc");
    const db::Rows rows(r);
    EXPECT_EQ(logic_error_of([&] { rows.int64(0, rows.column("name")); }),
              "column \"name\": \"abc\" is not an integer");
    EXPECT_EQ(logic_error_of([&] { rows.int64(0, rows.column("frac")); }),
              "column \"frac\": \"1.5\" is not an integer");
    EXPECT_EQ(logic_error_of([&] { rows.number(0, rows.column("name")); }),
              "column \"name\": \"abc\" is not a number");
    EXPECT_EQ(logic_error_of([&] { rows.boolean(0, rows.column("flag")); }),
              "column \"flag\": \"yes\" is not a boolean");
    EXPECT_EQ(logic_error_of([&] { rows.json(0, rows.column("doc")); }),
              "column \"doc\": not JSON in row 0");
}

TEST_F(RowsTest, AffectedCountsTheRowsAWriteTouched) {
    conn_.exec("CREATE TEMP TABLE t (id int)");
    EXPECT_EQ(db::Rows(conn_.exec("INSERT INTO t SELECT generate_series(1, 3)")).affected(), 3);
    EXPECT_EQ(db::Rows(conn_.exec("UPDATE t SET id = id + 1 WHERE id > 1")).affected(), 2);
    EXPECT_EQ(db::Rows(conn_.exec("DELETE FROM t WHERE id = 99")).affected(), 0);
    const auto r = select("SELECT id FROM t WHERE false");
    EXPECT_TRUE(db::Rows(r).empty());
}

TEST_F(RowsTest, ATextArrayParameterBindsEachElementAsItIs) {
    const std::vector<std::string> items{"U-1", "a\"b", "c\\d", "x,y", "{z}", " sp ", "NULL", ""};
    const auto r =
        conn_.exec("SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n",
                   {db::text_array_param(items)});
    const db::Rows rows(r);
    ASSERT_EQ(rows.size(), static_cast<int>(items.size()));
    const auto e = rows.column("e");
    for (int i = 0; i < rows.size(); ++i) {
        EXPECT_FALSE(rows.is_null(i, e)) << i;  // "NULL" quoted is the text NULL
        EXPECT_EQ(rows.text(i, e), items[static_cast<std::size_t>(i)]);
    }
    EXPECT_TRUE(
        db::Rows(conn_.exec("SELECT unnest($1::text[]) AS e", {db::text_array_param({})})).empty());
}

TEST_F(RowsTest, DistrictInLimitsToTheBoundJsonArray) {
    conn_.exec("CREATE TEMP TABLE d (id text)");
    conn_.exec("INSERT INTO d VALUES ('D-1'), ('D-2'), ('D''3')");
    const std::string sql =
        "SELECT id FROM d WHERE " + db::district_in("id", "$1") + " ORDER BY id COLLATE \"C\"";
    const auto r = conn_.exec(sql, {R"(["D-2","D'3","D-9"])"});
    const db::Rows rows(r);
    ASSERT_EQ(rows.size(), 2);
    EXPECT_EQ(rows.text(0, rows.column("id")), "D'3");
    EXPECT_EQ(rows.text(1, rows.column("id")), "D-2");
    EXPECT_TRUE(db::Rows(conn_.exec(sql, {"[]"})).empty());
}

}  // namespace
}  // namespace huxiao::test
