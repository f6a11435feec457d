# Generates a C++ source holding docs/api/openapi.json byte for byte, served
# as it is on GET /api/v1/openapi.json (server/api/openapi_document.hpp).
# Run with -DDOCUMENT=... -DOUT=... (see server/CMakeLists.txt).
file(READ "${DOCUMENT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
set(body "// Generated from docs/api/openapi.json by server/api/embed_openapi.cmake. Do not edit.\n")
string(APPEND body "#include \"server/api/openapi_document.hpp\"\n")
string(APPEND body "namespace huxiao::api {\nnamespace {\n")
# A trailing 0 keeps an empty file legal C++; it is not part of the document.
string(APPEND body "const unsigned char kDocument[] = {${bytes}0};\n}  // namespace\n")
string(APPEND body "std::string_view openapi_document() {\n")
string(APPEND body "    return {reinterpret_cast<const char*>(kDocument), sizeof kDocument - 1};\n}\n")
string(APPEND body "}  // namespace huxiao::api\n")
file(WRITE "${OUT}.tmp" "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
