/*
 * utf8.h - strict UTF-8 (RFC 3629): no overlong forms, no surrogates,
 * nothing above U+10FFFF.  Providers refuse requests that are not UTF-8, so
 * text from the user is checked before it is sent or stored.
 */
#ifndef MLB_UTF8_H
#define MLB_UTF8_H

#include <stddef.h>

/* The length of the valid sequence at p (end bounds it), else 0. */
size_t mlb_utf8_seq(const unsigned char *p, const unsigned char *end);

/* The offset of the first byte of s[0..len) that is not valid UTF-8, or len when all of it is. */
size_t mlb_utf8_check(const char *s, size_t len);

/* Exit 2 with a one-line error naming `what` and the offending byte unless s is UTF-8. */
void mlb_require_utf8(const char *what, const char *s, size_t len);

#endif
