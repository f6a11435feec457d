// huxiaod: wiring only; everything else lives in libraries the tests link.
#include "server/wiring/cli.hpp"

int main(int argc, char** argv) { return huxiao::run_cli(argc, argv); }
