// The huxiaod command line (contract §1): parses argv, runs one subcommand,
// returns the exit code. Errors are one line on stderr naming the problem.
#pragma once

namespace huxiao {

int run_cli(int argc, char** argv);

}  // namespace huxiao
