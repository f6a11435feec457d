// AES-CBC as SIA DC-09 uses it: zero IV, no cipher padding (the message
// carries its own pad so that the text is a whole number of 16-byte blocks),
// 128-, 192- or 256-bit keys. OpenSSL stays inside dc09_cipher.cpp so the
// pure core's headers do not pull it in. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace huxiao::dc09 {

// Whether `key` (raw bytes) has an AES key length: 16, 24 or 32 bytes.
bool is_valid_key_length(std::size_t bytes);

// Nothing when the key length is wrong or the text is not whole blocks.
std::optional<std::string> aes_cbc_encrypt(std::string_view key, std::string_view plain);
std::optional<std::string> aes_cbc_decrypt(std::string_view key, std::string_view cipher);

// Upper-case hex, as DC-09 sends encrypted text, and back (either case;
// nothing for odd lengths or non-hex characters).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace huxiao::dc09
