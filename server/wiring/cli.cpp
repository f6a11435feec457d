#include "server/wiring/cli.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/model/registry_import.hpp"
#include "server/base/log.hpp"
#include "server/db/migrations.hpp"
#include "server/db/pg_connection.hpp"
#include "server/db/registry_store.hpp"
#include "server/wiring/process_restart.hpp"
#include "server/wiring/server.hpp"

namespace huxiao {

namespace {

constexpr const char* kUsage =
    "usage: huxiaod serve --config FILE\n"
    "       huxiaod migrate --config FILE\n"
    "       huxiaod import --config FILE REGISTRY.json\n"
    "       huxiaod token create --config FILE --role ROLE --name NAME [--unit UNIT_ID] "
    "[--districts D-1,D-2]\n"
    "       huxiaod token revoke --config FILE --name NAME\n"
    "       huxiaod version\n";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// `--key value` options and positional arguments, with the allowed keys.
struct Args {
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;

    static Args parse(const std::vector<std::string>& argv,
                      std::initializer_list<const char*> allowed) {
        Args a;
        for (std::size_t i = 0; i < argv.size(); ++i) {
            const std::string& arg = argv[i];
            if (arg.rfind("--", 0) == 0) {
                std::string key = arg.substr(2), value;
                if (auto eq = key.find('='); eq != std::string::npos) {
                    value = key.substr(eq + 1);
                    key = key.substr(0, eq);
                } else if (i + 1 < argv.size()) {
                    value = argv[++i];
                } else {
                    throw UsageError("--" + key + " needs a value");
                }
                bool known = false;
                for (const char* k : allowed) known = known || key == k;
                if (!known) throw UsageError("unknown option --" + key);
                a.options[key] = value;
            } else {
                a.positional.push_back(arg);
            }
        }
        return a;
    }

    std::string require(const std::string& key) const {
        auto it = options.find(key);
        if (it == options.end() || it->second.empty())
            throw UsageError("--" + key + " is required");
        return it->second;
    }
    std::optional<std::string> get(const std::string& key) const {
        auto it = options.find(key);
        if (it == options.end()) return std::nullopt;
        return it->second;
    }
};

Config load(const Args& args) {
    Config c = load_config_file(args.require("config"));
    configure_logging(c.log.level, c.log.format);
    return c;
}

int cmd_serve(const Args& args) {
    if (!args.positional.empty()) throw UsageError("unexpected argument " + args.positional[0]);
    Config config = load(args);
    Server server(std::move(config), args.require("config"));
    server.start();
    return server.run();
}

int cmd_migrate(const Args& args) {
    if (!args.positional.empty()) throw UsageError("unexpected argument " + args.positional[0]);
    Config config = load(args);
    db::PgSync db(config.database.url, config.database.connect_timeout_s);
    auto applied = db::apply_migrations(db);
    std::cout << (applied.empty() ? "schema is up to date" : "applied:");
    for (const auto& name : applied) std::cout << " " << name;
    std::cout << "\n";
    return 0;
}

int cmd_import(const Args& args) {
    if (args.positional.size() != 1) throw UsageError("import needs exactly one REGISTRY.json");
    Config config = load(args);
    const std::string& file = args.positional[0];
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(file + ": cannot read the registry file");
    std::stringstream text;
    text << in.rdbuf();
    db::PgSync db(config.database.url, config.database.connect_timeout_s);
    db::apply_migrations(db);
    RegistryParse parsed = parse_registry(text.str(), db::load_known_ids(db));
    if (!parsed.errors.empty()) {
        for (const auto& e : parsed.errors) std::cerr << file << ": " << e << "\n";
        std::cerr << "huxiaod: import: " << parsed.errors.size() << " problem(s) in " << file
                  << "; nothing was imported\n";
        return 1;
    }
    db::ImportCounts n;
    try {
        n = db::import_registry(db, parsed.registry);
    } catch (const std::exception& e) {
        std::cerr << file << ": " << e.what() << "\nhuxiaod: import: nothing was imported\n";
        return 1;
    }
    std::cout << "imported " << n.districts << " districts, " << n.schools << " schools, "
              << n.terminals << " terminals, " << n.units << " units, " << n.guard_posts
              << " guard posts\n";
    return 0;
}

// Revoking is immediate for running servers too: they hear of it through
// the database's notice (sql/011) and close the token's sessions (4001).
int cmd_token_revoke(const std::vector<std::string>& rest) {
    Args args = Args::parse({rest.begin() + 1, rest.end()}, {"config", "name"});
    if (!args.positional.empty()) throw UsageError("unexpected argument " + args.positional[0]);
    Config config = load(args);
    const std::string name = args.require("name");
    db::PgSync db(config.database.url, config.database.connect_timeout_s);
    db::apply_migrations(db);
    if (!db::revoke_token(db, name)) {
        std::cerr << "huxiaod: no active token named \"" << name << "\"\n";
        return 1;
    }
    std::cout << "revoked " << name << "\n";
    return 0;
}

int cmd_token(const std::vector<std::string>& rest) {
    if (!rest.empty() && rest[0] == "revoke") return cmd_token_revoke(rest);
    if (rest.empty() || rest[0] != "create") {
        throw UsageError("token: expected `token create` or `token revoke`");
    }
    Args args = Args::parse({rest.begin() + 1, rest.end()},
                            {"config", "role", "name", "unit", "districts"});
    if (!args.positional.empty()) throw UsageError("unexpected argument " + args.positional[0]);
    Config config = load(args);
    db::TokenInfo info;
    info.role = args.require("role");
    info.name = args.require("name");
    info.unit = args.get("unit");
    if (auto d = args.get("districts")) {
        std::stringstream list(*d);
        std::string item;
        while (std::getline(list, item, ',')) {
            if (!item.empty()) info.districts.push_back(item);
        }
    }
    // Contract 1.1: an education token without districts cannot be created
    // (it must never mean "every district").
    if (info.role == "education" && info.districts.empty())
        throw UsageError("--districts: an education token needs --districts D-1[,D-2...]");
    db::PgSync db(config.database.url, config.database.connect_timeout_s);
    db::apply_migrations(db);
    std::cout << db::create_token(db, info) << "\n";
    return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
    remember_arguments(argc, argv);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string command = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (command == "version" || command == "--version") {
            std::cout << "huxiaod " << HUXIAO_VERSION << "\n";
            return 0;
        }
        if (command == "help" || command == "--help" || command == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (command == "serve") return cmd_serve(Args::parse(rest, {"config"}));
        if (command == "migrate") return cmd_migrate(Args::parse(rest, {"config"}));
        if (command == "import") return cmd_import(Args::parse(rest, {"config"}));
        if (command == "token") return cmd_token(rest);
        throw UsageError("unknown command \"" + command + "\"");
    } catch (const UsageError& e) {
        std::cerr << "huxiaod: " << e.what() << "\n" << kUsage;
        return 2;
    } catch (const ConfigError& e) {
        std::cerr << "huxiaod: config: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "huxiaod: " << command << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace huxiao
