/*
 * role.h - roles: saved system prompts, named by -S @name and by
 * "system": "@name" in templates.
 *
 * A role is a plain file <name>.md: the person's in
 * ${XDG_CONFIG_HOME:-~/.config}/mlb/prompts/ over the shipped ones in
 * share/mlb/prompts/.  It may start with mail-like headers and a blank
 * line: Description:, Model: (the model to use when none is named),
 * Option: key=value, and any other header as a request option (Temperature:
 * 0.2 is temperature=0.2, Max-Tokens: 100 is max_tokens=100).  Those are
 * the role's defaults; the command line overrides them.  The rest of the
 * file is the system prompt.
 */
#ifndef MLB_ROLE_H
#define MLB_ROLE_H

#include <stddef.h>
#include <json-c/json.h>

struct mlb_role {
	char *name;		/* NULL for a system prompt given as text */
	char *path;		/* the file it came from, or NULL */
	int shipped;		/* from share/mlb/prompts, not the person's directory */
	char *description;	/* Description:, or NULL */
	char *model;		/* Model:, or NULL */
	char *text;		/* the system prompt, or NULL when there is none */
	json_object *options;	/* the request options its headers set; never NULL once filled */
};

/* Whether name can name a role: letters, digits, '.', '_', '-', not starting with '.' or '-'. */
int mlb_role_name_valid(const char *name);
/* Load the role called name; -1 after a one-line error (an unknown name lists the roles there are). */
int mlb_role_load(const char *name, struct mlb_role *r);
/* -S's argument: "@name" is a role, any other text is the system prompt itself; -1 after an error. */
int mlb_role_from_arg(const char *arg, struct mlb_role *r);
/* Every role's name, sorted, the person's and the shipped ones once each; NULL-terminated. */
char **mlb_role_names(size_t *n);
void mlb_role_clear(struct mlb_role *r);

/* The event (type "role") describing r; with_text adds its text and options. */
json_object *mlb_role_event(const struct mlb_role *r, int with_text);

#endif
