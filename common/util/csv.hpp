// CSV cells for the report exports. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

namespace huxiao {

// One text cell (RFC 4180: quoted when it holds a comma, quote or line break,
// quotes doubled) that a spreadsheet will not run: a cell starting with
// = + - @ tab or CR is read as a formula by Excel, LibreOffice and WPS, so it
// gets a leading apostrophe (OWASP "CSV injection"). Numbers are not text
// cells and are written as they are.
std::string csv_text_cell(std::string_view text);

}  // namespace huxiao
