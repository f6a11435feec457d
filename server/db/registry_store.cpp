#include "server/db/registry_store.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "server/db/pg_connection.hpp"

namespace huxiao::db {

namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(kHex[data[i] >> 4]);
        out.push_back(kHex[data[i] & 15]);
    }
    return out;
}

std::string base64url(const unsigned char* data, std::size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        buffer = (buffer << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            out.push_back(kAlphabet[(buffer >> (bits - 6)) & 63]);
            bits -= 6;
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
    return out;
}

std::optional<std::string> opt_int(const std::optional<int>& v) {
    return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.8f", v);
    return buf;
}

std::string pg_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i ? "," : "") + std::string("\"") + items[i] + "\"";
    }
    return out + "}";
}

std::vector<std::string> parse_pg_array(const std::string& text) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == '{' || c == '}' || c == '"') continue;
        if (c == ',') {
            out.push_back(current);
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) out.push_back(current);
    return out;
}

}  // namespace

Registry load_registry(PgSync& db) {
    Registry reg;
    auto r = db.exec("SELECT id, name, sla_ack_s, sla_arrival_s FROM districts ORDER BY id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        District d{cell(r.get(), i, 0), cell(r.get(), i, 1), {}};
        if (!PQgetisnull(r.get(), i, 2)) d.sla.ack_s = std::stoi(cell(r.get(), i, 2));
        if (!PQgetisnull(r.get(), i, 3)) d.sla.arrival_s = std::stoi(cell(r.get(), i, 3));
        reg.districts.push_back(std::move(d));
    }
    r = db.exec("SELECT id, name, district_id, lat, lon FROM schools ORDER BY id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        reg.schools.push_back({cell(r.get(), i, 0),
                               cell(r.get(), i, 1),
                               cell(r.get(), i, 2),
                               {std::stod(cell(r.get(), i, 3)), std::stod(cell(r.get(), i, 4))}});
    }
    r = db.exec(
        "SELECT t.id, t.school_id, t.enabled, d.account, d.receiver, d.line, d.key_hex "
        "FROM terminals t LEFT JOIN terminal_dc09 d ON d.terminal_id = t.id ORDER BY t.id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        Terminal t;
        t.id = cell(r.get(), i, 0);
        t.school = cell(r.get(), i, 1);
        t.enabled = cell(r.get(), i, 2) == "t";
        if (!PQgetisnull(r.get(), i, 3)) {
            t.dc09 = Dc09Identity{cell(r.get(), i, 3), cell(r.get(), i, 4), cell(r.get(), i, 5),
                                  cell(r.get(), i, 6)};
        }
        reg.terminals.push_back(std::move(t));
    }
    r = db.exec(
        "SELECT id, callsign, district_id, home_lat, home_lon FROM units WHERE enabled ORDER BY "
        "id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        reg.units.push_back({cell(r.get(), i, 0),
                             cell(r.get(), i, 1),
                             cell(r.get(), i, 2),
                             {std::stod(cell(r.get(), i, 3)), std::stod(cell(r.get(), i, 4))}});
    }
    r = db.exec("SELECT school_id, unit_id, days, windows, tz FROM guard_posts ORDER BY id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        GuardPost g;
        g.school = cell(r.get(), i, 0);
        g.unit = cell(r.get(), i, 1);
        g.days = cell(r.get(), i, 2);
        g.weekday_mask = parse_weekdays(g.days);
        g.window_texts = parse_pg_array(cell(r.get(), i, 3));
        for (const auto& w : g.window_texts) {
            MinuteWindow mw;
            if (parse_window(w, mw)) g.windows.push_back(mw);
        }
        g.tz = cell(r.get(), i, 4);
        reg.guard_posts.push_back(std::move(g));
    }
    return reg;
}

KnownIds load_known_ids(PgSync& db) {
    KnownIds ids;
    const auto read = [&](const char* sql, std::set<std::string>& into) {
        auto r = db.exec(sql);
        for (int i = 0; i < PQntuples(r.get()); ++i) into.insert(cell(r.get(), i, 0));
    };
    read("SELECT id FROM districts", ids.districts);
    read("SELECT id FROM schools", ids.schools);
    read("SELECT id FROM units", ids.units);
    return ids;
}

std::vector<PgQuery> upsert_queries(const Registry& reg) {
    std::vector<PgQuery> out;
    const auto add = [&out](const char* sql, std::vector<std::optional<std::string>> params) {
        out.push_back(PgQuery{sql, std::move(params), false});
    };
    for (const auto& d : reg.districts) {
        add("INSERT INTO districts (id, name, sla_ack_s, sla_arrival_s) VALUES ($1,$2,$3,$4) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, sla_ack_s = EXCLUDED.sla_ack_s,"
            " sla_arrival_s = EXCLUDED.sla_arrival_s, updated_at = now()",
            {d.id, d.name, opt_int(d.sla.ack_s), opt_int(d.sla.arrival_s)});
    }
    for (const auto& s : reg.schools) {
        add("INSERT INTO schools (id, name, district_id, lat, lon) VALUES ($1,$2,$3,$4,$5) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, district_id = "
            "EXCLUDED.district_id,"
            " lat = EXCLUDED.lat, lon = EXCLUDED.lon, updated_at = now()",
            {s.id, s.name, s.district, num(s.location.lat), num(s.location.lon)});
    }
    for (const auto& t : reg.terminals) {
        add("INSERT INTO terminals (id, school_id, enabled) VALUES ($1,$2,$3) "
            "ON CONFLICT (id) DO UPDATE SET school_id = EXCLUDED.school_id,"
            " enabled = EXCLUDED.enabled, updated_at = now()",
            {t.id, t.school, t.enabled ? "true" : "false"});
        // The record is the whole truth about the terminal: without `dc09`
        // it has no DC-09 identity (any earlier one is removed).
        if (t.dc09) {
            add("INSERT INTO terminal_dc09 (terminal_id, account, receiver, line, key_hex) "
                "VALUES ($1,$2,$3,$4,$5) ON CONFLICT (terminal_id) DO UPDATE SET"
                " account = EXCLUDED.account, receiver = EXCLUDED.receiver,"
                " line = EXCLUDED.line, key_hex = EXCLUDED.key_hex, updated_at = now()",
                {t.id, t.dc09->account, t.dc09->receiver, t.dc09->line, t.dc09->key_hex});
        } else {
            add("DELETE FROM terminal_dc09 WHERE terminal_id = $1", {t.id});
        }
    }
    for (const auto& u : reg.units) {
        add("INSERT INTO units (id, callsign, district_id, home_lat, home_lon, enabled) VALUES "
            "($1,$2,$3,$4,$5,$6) "
            "ON CONFLICT (id) DO UPDATE SET callsign = EXCLUDED.callsign,"
            " district_id = EXCLUDED.district_id, home_lat = EXCLUDED.home_lat,"
            " home_lon = EXCLUDED.home_lon, enabled = EXCLUDED.enabled, updated_at = now()",
            {u.id, u.callsign, u.district, num(u.home.lat), num(u.home.lon),
             u.enabled ? "true" : "false"});
    }
    for (const auto& g : reg.guard_posts) {
        add("INSERT INTO guard_posts (school_id, unit_id, days, windows, tz) VALUES "
            "($1,$2,$3,$4,$5) "
            "ON CONFLICT (school_id, unit_id) DO UPDATE SET days = EXCLUDED.days,"
            " windows = EXCLUDED.windows, tz = EXCLUDED.tz, updated_at = now()",
            {g.school, g.unit, g.days, pg_array(g.window_texts), g.tz});
    }
    return out;
}

ImportCounts import_registry(PgSync& db, const Registry& reg) {
    ImportCounts counts{reg.districts.size(), reg.schools.size(), reg.terminals.size(),
                        reg.units.size(), reg.guard_posts.size()};
    db.exec("BEGIN");
    try {
        for (const auto& q : upsert_queries(reg)) db.exec(q.statement, q.params);
        db.exec("COMMIT");
    } catch (...) {
        PgResult rollback(PQexec(db.raw(), "ROLLBACK"));
        throw;
    }
    return counts;
}

std::string token_hash_hex(const std::string& token) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(token.data(), token.size(), digest, &len, EVP_sha256(), nullptr);
    return to_hex(digest, len);
}

bool revoke_token(PgSync& db, const std::string& name) {
    auto r = db.exec(
        "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL "
        "RETURNING name",
        {name});
    return PQntuples(r.get()) > 0;
}

std::string create_token(PgSync& db, const TokenInfo& info) {
    static const std::set<std::string> kRoles = {"admin",     "dispatcher", "auditor",
                                                 "education", "unit",       "inspector"};
    if (!kRoles.count(info.role)) {
        throw std::runtime_error(
            "--role: \"" + info.role +
            "\" is not one of admin, dispatcher, auditor, education, unit, inspector");
    }
    if ((info.role == "unit") != info.unit.has_value()) {
        throw std::runtime_error(info.role == "unit"
                                     ? "--unit: a unit token needs --unit UNIT_ID"
                                     : "--unit: only unit tokens are bound to a unit");
    }
    if (info.unit) {
        auto r = db.exec("SELECT 1 FROM units WHERE id = $1", {*info.unit});
        if (PQntuples(r.get()) == 0)
            throw std::runtime_error("--unit: unknown unit \"" + *info.unit + "\"");
    }
    // Contract 1.1: an education token is limited to districts it names, and
    // an empty list is refused (it must never mean "every district").
    if (info.role == "education" && info.districts.empty()) {
        throw std::runtime_error("--districts: an education token needs --districts D-1[,D-2...]");
    }
    nlohmann::json district_ids = nlohmann::json::array();
    for (const auto& d : info.districts) {
        if (d.empty()) throw std::runtime_error("--districts: empty district id");
        district_ids.push_back(d);
    }
    const std::string districts_json =
        district_ids.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!info.districts.empty()) {
        auto unknown = db.exec(
            "SELECT d FROM json_array_elements_text($1::json) d "
            "WHERE d NOT IN (SELECT id FROM districts) LIMIT 1",
            {districts_json});
        if (PQntuples(unknown.get()) != 0) {
            throw std::runtime_error("--districts: unknown district \"" +
                                     cell(unknown.get(), 0, 0) + "\"");
        }
    }
    auto existing = db.exec("SELECT 1 FROM api_tokens WHERE name = $1", {info.name});
    if (PQntuples(existing.get()) != 0) {
        throw std::runtime_error("--name: a token named \"" + info.name + "\" already exists");
    }
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1)
        throw std::runtime_error("no randomness for a token");
    const std::string token = "hx_" + base64url(random, sizeof random);
    db.exec(
        "INSERT INTO api_tokens (name, role, unit_id, districts, token_hash) "
        "VALUES ($1, $2, $3, CASE WHEN $4::json IS NULL THEN NULL ELSE "
        "ARRAY(SELECT json_array_elements_text($4::json)) END, decode($5, 'hex'))",
        {info.name, info.role, info.unit,
         info.districts.empty() ? std::nullopt : std::optional<std::string>(districts_json),
         token_hash_hex(token)});
    return token;
}

}  // namespace huxiao::db
