/* esc.h - untrusted names (zip member names, header text) shown safely.
 *
 * fe_escn copies bytes for a terminal or a one-line message: printable ASCII
 * and well-formed UTF-8 as they are; newline, carriage return and tab as \n \r
 * \t; backslash as \\; every other byte (control characters, DEL, bytes that
 * are not well-formed UTF-8, the C1 controls U+0080..U+009F and the bidi
 * controls U+202A..U+202E, U+2066..U+2069 written in UTF-8) as \xHH.  At most
 * FE_ESC_SHOW characters are written; a longer result is cut there (never
 * inside an escape or a UTF-8 sequence) and ends in the marker \... (a single
 * backslash cannot otherwise appear, so the marker is unambiguous). */
#ifndef FE_ESC_H
#define FE_ESC_H

#include <stddef.h>

#define FE_ESC_SHOW 255

typedef struct {
    char s[FE_ESC_SHOW + 5];     /* the characters, "\\..." and the NUL */
} fe_escbuf;

/* Escape s[0, n) into b; returns b->s. */
const char *fe_escn(fe_escbuf *b, const char *s, size_t n);
/* The same for a NUL-terminated string. */
const char *fe_esc(fe_escbuf *b, const char *s);

#endif
