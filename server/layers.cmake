# The folder rule of the server shell, checked before anything compiles
# (server/CMakeLists.txt runs this with cmake -P):
#
#   * a file in server/<folder>/ includes "server/<other>/..." only when
#     <other> comes before <folder> in LAYERS (or is <folder> itself);
#   * nothing in common/ includes "server/...": the pure core has no I/O;
#   * server/main.cpp, above every folder, may include any of them;
#   * libpq is used in server/db/ only: anywhere else in server/, a call of
#     a libpq function (PQsomething( ) or #include <libpq-fe.h> is listed too
#     (the API reads typed rows from server/db/*_queries, never a PGresult).
#
# Every offending line is listed, then the build stops. Inputs: ROOT (the
# source tree), LAYERS (the folders, lowest first, comma-separated), STAMP
# (written when clean).
cmake_minimum_required(VERSION 3.25)

if(NOT ROOT OR NOT LAYERS)
  message(FATAL_ERROR "layers.cmake: pass -DROOT=<source tree> -DLAYERS=<folders, lowest first>")
endif()
string(REPLACE "," ";" LAYERS "${LAYERS}")

set(violations "")

function(check_file file allowed rule)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"server/")
  file(RELATIVE_PATH shown "${ROOT}" "${file}")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "\"server/([a-z_]+)/" _ "${line}")
    set(target "${CMAKE_MATCH_1}")
    if(NOT target IN_LIST allowed)
      string(STRIP "${line}" line)
      set(violations "${violations}\n  ${shown}: ${line}  (${rule})")
    endif()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

# server/<folder>/: itself and the folders before it.
set(below "")
foreach(layer IN LISTS LAYERS)
  list(APPEND below "${layer}")
  file(GLOB_RECURSE files "${ROOT}/server/${layer}/*.cpp" "${ROOT}/server/${layer}/*.hpp")
  string(JOIN ", " names ${below})
  foreach(file IN LISTS files)
    check_file("${file}" "${below}" "server/${layer} may include only ${names}")
  endforeach()
endforeach()

# A folder of server/ that is not in LAYERS has no place in the order yet.
string(JOIN " <- " order ${LAYERS})
file(GLOB entries LIST_DIRECTORIES true "${ROOT}/server/*")
foreach(entry IN LISTS entries)
  get_filename_component(name "${entry}" NAME)
  if(IS_DIRECTORY "${entry}" AND NOT name IN_LIST LAYERS)
    set(violations "${violations}\n  server/${name}/: a folder outside the order ${order}")
  endif()
endforeach()

file(GLOB_RECURSE files "${ROOT}/common/*.cpp" "${ROOT}/common/*.hpp")
foreach(file IN LISTS files)
  check_file("${file}" "" "common/ never includes server/")
endforeach()

# libpq outside server/db/. libpq's functions are PQ and a lower-case letter
# (PQntuples, PQgetvalue, PQcmdTuples); its types (PGresult) are not matched.
set(libpq "")
file(GLOB_RECURSE files "${ROOT}/server/*.cpp" "${ROOT}/server/*.hpp")
foreach(file IN LISTS files)
  file(RELATIVE_PATH shown "${ROOT}" "${file}")
  if(shown MATCHES "^server/db/")
    continue()
  endif()
  file(STRINGS "${file}" lines
       REGEX "(^|[^A-Za-z0-9_])PQ[a-z][A-Za-z0-9_]*[ \t]*\\(|^[ \t]*#[ \t]*include[ \t]*<libpq-fe\\.h>")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    set(libpq "${libpq}\n  ${shown}: ${line}")
  endforeach()
endforeach()

set(report "")
if(violations)
  set(report "wrong-way includes (docs/architecture.md, \"Folders\"):${violations}")
endif()
if(libpq)
  if(report)
    string(APPEND report "\n")
  endif()
  string(APPEND report "libpq outside server/db/ (read through a query of server/db/*_queries,"
         " docs/architecture.md, \"Folders\"):${libpq}")
endif()
if(report)
  message(FATAL_ERROR "${report}")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
