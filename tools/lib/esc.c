/* esc.c - untrusted names shown safely (esc.h). */
#include "esc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (of n bytes) that is safe to
 * show, or 0: overlong forms, surrogates, code points past U+10FFFF, the C1
 * controls and the bidi controls give 0. */
static size_t utf8_ok(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    if (cp <= 0x9F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return len;
}

const char *fe_escn(fe_escbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    while (i < n) {
        char piece[8];
        size_t plen, used;
        unsigned c = p[i];
        size_t u = c >= 0x80 ? utf8_ok(p + i, n - i) : 0;
        if (u) {
            memcpy(piece, p + i, u);
            plen = used = u;
        } else if (c >= 0x20 && c < 0x7F && c != '\\') {
            piece[0] = (char)c;
            plen = used = 1;
        } else {
            used = 1;
            plen = c == '\n' ? (memcpy(piece, "\\n", 2), 2)
                 : c == '\r' ? (memcpy(piece, "\\r", 2), 2)
                 : c == '\t' ? (memcpy(piece, "\\t", 2), 2)
                 : c == '\\' ? (memcpy(piece, "\\\\", 2), 2)
                 : (size_t)snprintf(piece, sizeof piece, "\\x%02X", c);
        }
        if (o + plen > FE_ESC_SHOW) {
            memcpy(b->s + o, "\\...", 4);
            o += 4;
            break;
        }
        memcpy(b->s + o, piece, plen);
        o += plen;
        i += used;
    }
    b->s[o] = '\0';
    return b->s;
}

const char *fe_esc(fe_escbuf *b, const char *s)
{
    return fe_escn(b, s, strlen(s));
}
