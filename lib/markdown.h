/*
 * markdown.h - an answer's markdown drawn lightly for a terminal, as mods
 * and aichat do: headings bold, fenced code blocks indented and tinted (the
 * fences dropped), list bullets as "•", **strong** bold, *emphasis* and
 * _emphasis_ italic, `code` tinted.  The markers of what is drawn go;
 * everything else stays as it is.  The text must already be safe
 * (mlb_term_safe): the only escapes in the result are the colours added
 * here, which mlb_term_wrap() counts as taking no room.  Stored text never
 * changes; --raw shows the text as sent.
 */
#ifndef MLB_MARKDOWN_H
#define MLB_MARKDOWN_H

#include <stddef.h>

#include "buf.h"

/* Append safe text s[0..len) to out with its markdown drawn in colours. */
void mlb_markdown_render(struct mlb_buf *out, const char *s, size_t len);

#endif
