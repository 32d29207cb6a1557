/*
 * input.h - reading a prompt: from the operands, else from stdin when it is
 * not a terminal.  Shared by the tools that send prompts.
 */
#ifndef MLB_INPUT_H
#define MLB_INPUT_H

#include <stddef.h>

/* The prompt: the operands joined by spaces (the instruction), then, when
 * stdin is a pipe or a file with something in it, a blank line and stdin's
 * text (the data), as in `cat notes.txt | mlb-send "Summarize:"`; or stdin
 * alone when there are no operands and it is not a terminal.  NULL when there
 * is none.  At most max + 1 bytes of stdin are read (0: no bound): enough
 * for the request limit to refuse a prompt that is too large without holding
 * all of it. */
char *mlb_read_prompt(int argc, char **argv, int use_stdin, size_t max);

/* Read all of fd, or at most max bytes when max is not 0; NULL with errno set on a read error. */
char *mlb_read_upto(int fd, size_t max, size_t *len);

/* Read all of fd; NULL with errno set on a read error. */
char *mlb_read_all(int fd, size_t *len);

/* Split "a,b,c" into a NULL-terminated list of non-empty items; *n the count. */
char **mlb_split_list(const char *s, size_t *n);

#endif
