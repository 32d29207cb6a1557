/*
 * chat.h - the conversation sent to a model: turns and request options.
 *
 * Turns are role/content pairs ("system", "user", "assistant").  Options
 * come from -o key=value and are kept as a JSON object with typed values
 * (numbers, booleans, strings), which each wire kind maps to its own names.
 */
#ifndef MLB_CHAT_H
#define MLB_CHAT_H

#include <stddef.h>
#include <json-c/json.h>

struct mlb_turn {
	char *role;
	char *content;
};

struct mlb_chat {
	struct mlb_turn *turns;
	size_t nturns;
	json_object *options;	/* never NULL after mlb_chat_init */
};

/* An empty conversation with no options. */
void mlb_chat_init(struct mlb_chat *c);
/* Append a turn (copies the strings). */
void mlb_chat_add(struct mlb_chat *c, const char *role, const char *content);
/* The total size of every turn's content, in bytes. */
size_t mlb_chat_bytes(const struct mlb_chat *c);
/* A deep copy of src into dst (options shared by reference count). */
void mlb_chat_copy(struct mlb_chat *dst, const struct mlb_chat *src);
void mlb_chat_free(struct mlb_chat *c);

/* Add "key=value" to opts: numbers and true/false become typed; -1 after an error. */
int mlb_option_parse(json_object *opts, const char *kv);

#endif
