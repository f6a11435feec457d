#include "common/protocol/dc09_cipher.hpp"

#include <openssl/evp.h>

#include <memory>

namespace huxiao::dc09 {

namespace {

const EVP_CIPHER* cipher_for(std::size_t key_bytes) {
    switch (key_bytes) {
        case 16:
            return EVP_aes_128_cbc();
        case 24:
            return EVP_aes_192_cbc();
        case 32:
            return EVP_aes_256_cbc();
        default:
            return nullptr;
    }
}

std::optional<std::string> run(std::string_view key, std::string_view in, bool encrypt) {
    const EVP_CIPHER* cipher = cipher_for(key.size());
    if (cipher == nullptr || in.size() % 16 != 0) return std::nullopt;
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    if (!ctx) return std::nullopt;
    const unsigned char iv[16] = {};
    const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key_bytes, iv, encrypt ? 1 : 0) != 1) {
        return std::nullopt;
    }
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    std::string out(in.size() + 16, '\0');
    int written = 0;
    int final_written = 0;
    auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
    if (EVP_CipherUpdate(ctx.get(), out_bytes, &written,
                         reinterpret_cast<const unsigned char*>(in.data()),
                         static_cast<int>(in.size())) != 1 ||
        EVP_CipherFinal_ex(ctx.get(), out_bytes + written, &final_written) != 1) {
        return std::nullopt;
    }
    out.resize(static_cast<std::size_t>(written + final_written));
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

bool is_valid_key_length(std::size_t bytes) { return cipher_for(bytes) != nullptr; }

std::optional<std::string> aes_cbc_encrypt(std::string_view key, std::string_view plain) {
    return run(key, plain, true);
}

std::optional<std::string> aes_cbc_decrypt(std::string_view key, std::string_view cipher) {
    return run(key, cipher, false);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0F]);
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

}  // namespace huxiao::dc09
