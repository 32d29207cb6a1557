/*
 * input.h - reading a prompt: from the operands, else from stdin when it is
 * not a terminal.  Shared by the tools that send prompts.
 */
#ifndef MLB_INPUT_H
#define MLB_INPUT_H

#include <stddef.h>

/* The operands joined by spaces, or all of stdin; NULL when there is none. */
char *mlb_read_prompt(int argc, char **argv, int use_stdin);

/* Read all of fd; NULL with errno set on a read error. */
char *mlb_read_all(int fd, size_t *len);

/* Split "a,b,c" into a NULL-terminated list of non-empty items; *n the count. */
char **mlb_split_list(const char *s, size_t *n);

#endif
