#include "expect.h"
#include "buf.h"
#include "compare.h"
#include "diff.h"
#include "msg.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum value { V_STRING, V_TRUE, V_OBJECT, V_NUMBER, V_COUNT };

/* The checks: the key that names each, what its value is, and the other keys it may have. */
static const struct kind {
	const char *name;
	enum value value;
	const char *const keys[3];	/* besides the name; NULL-terminated */
} kinds[] = {
	{ "contains", V_STRING, { "ignore_case" } },
	{ "not_contains", V_STRING, { "ignore_case" } },
	{ "regex", V_STRING, { "ignore_case" } },
	{ "json", V_TRUE, { NULL } },
	{ "json_schema", V_OBJECT, { NULL } },
	{ "max_cost", V_NUMBER, { NULL } },
	{ "max_latency_ms", V_COUNT, { NULL } },
	{ "max_tokens", V_COUNT, { NULL } },
	{ "similar_to", V_STRING, { "min" } },
	{ "judge", V_STRING, { "rubric" } },
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The similarity similar_to asks for when it gives no "min". */
#define DEFAULT_MIN_SIMILARITY 0.8

static const struct kind *kind_of(json_object *item, const char **bad)
{
	const struct kind *found = NULL;

	*bad = NULL;
	if (!json_object_is_type(item, json_type_object))
		return NULL;
	json_object_object_foreach(item, key, val) {
		(void)val;
		for (size_t i = 0; i < NKINDS; i++)
			if (!strcmp(key, kinds[i].name)) {
				if (found)
					*bad = key;	/* a second check in one item */
				else
					found = &kinds[i];
			}
	}
	return found;
}

const char *mlb_expect_check_name(json_object *expect, size_t i)
{
	const char *bad;
	const struct kind *k = kind_of(json_object_array_get_idx(expect, i), &bad);

	return k ? k->name : NULL;
}

static const char *type_name(json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

static int is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* ---- the subset of JSON Schema ---- */

static const char *const schema_types[] = { "object", "array", "string", "number", "integer", "boolean", "null" };

static int type_known(const char *name)
{
	for (size_t i = 0; i < sizeof(schema_types) / sizeof(schema_types[0]); i++)
		if (!strcmp(name, schema_types[i]))
			return 1;
	return 0;
}

/* The first problem of a schema at path, or NULL. */
static char *schema_problem(json_object *s, const char *path)
{
	if (!json_object_is_type(s, json_type_object))
		return mlb_xasprintf("the schema at %s is %s, not an object", path, type_name(s));
	json_object_object_foreach(s, key, val) {
		char *p = NULL, *sub;

		if (!strcmp(key, "type")) {
			if (json_object_is_type(val, json_type_string) && type_known(json_object_get_string(val)))
				continue;
			if (json_object_is_type(val, json_type_array)) {
				size_t n = json_object_array_length(val), ok = n > 0;

				for (size_t i = 0; i < n && ok; i++) {
					json_object *t = json_object_array_get_idx(val, i);

					ok = json_object_is_type(t, json_type_string) && type_known(json_object_get_string(t));
				}
				if (ok)
					continue;
			}
			return mlb_xasprintf("%s: \"type\" is one of object, array, string, number, integer, boolean, null, or a list of them", path);
		} else if (!strcmp(key, "required")) {
			size_t n = json_object_is_type(val, json_type_array) ? json_object_array_length(val) : 0;
			int ok = json_object_is_type(val, json_type_array);

			for (size_t i = 0; i < n && ok; i++)
				ok = json_object_is_type(json_object_array_get_idx(val, i), json_type_string);
			if (!ok)
				return mlb_xasprintf("%s: \"required\" is a list of property names", path);
		} else if (!strcmp(key, "properties")) {
			if (!json_object_is_type(val, json_type_object))
				return mlb_xasprintf("%s: \"properties\" is an object of schemas", path);
			json_object_object_foreach(val, name, sub_schema) {
				p = mlb_xasprintf("%s.properties.%s", path, name);
				sub = schema_problem(sub_schema, p);
				free(p);
				if (sub)
					return sub;
			}
		} else if (!strcmp(key, "items")) {
			p = mlb_xasprintf("%s.items", path);
			sub = schema_problem(val, p);
			free(p);
			if (sub)
				return sub;
		} else if (!strcmp(key, "enum")) {
			if (!json_object_is_type(val, json_type_array) || !json_object_array_length(val))
				return mlb_xasprintf("%s: \"enum\" is a non-empty list of values", path);
		} else if (strcmp(key, "$schema") && strcmp(key, "title") && strcmp(key, "description")) {
			return mlb_xasprintf("%s: \"%s\" is not in the subset mlb checks (type, required, properties, items, enum)",
					     path, key);
		}
	}
	return NULL;
}

static int type_matches(json_object *v, const char *type)
{
	if (!strcmp(type, "object"))
		return json_object_is_type(v, json_type_object);
	if (!strcmp(type, "array"))
		return json_object_is_type(v, json_type_array);
	if (!strcmp(type, "string"))
		return json_object_is_type(v, json_type_string);
	if (!strcmp(type, "number"))
		return is_number(v);
	if (!strcmp(type, "integer"))
		return json_object_is_type(v, json_type_int) ||
		       (json_object_is_type(v, json_type_double) && floor(json_object_get_double(v)) == json_object_get_double(v));
	if (!strcmp(type, "boolean"))
		return json_object_is_type(v, json_type_boolean);
	return v == NULL || json_object_is_type(v, json_type_null);
}

/* Whether v fits schema s; *why says where it does not. */
static int schema_fits(json_object *v, json_object *s, const char *path, char **why)
{
	json_object *x;

	if (json_object_object_get_ex(s, "type", &x)) {
		int ok = 0;

		if (json_object_is_type(x, json_type_string))
			ok = type_matches(v, json_object_get_string(x));
		for (size_t i = 0; json_object_is_type(x, json_type_array) && i < json_object_array_length(x) && !ok; i++)
			ok = type_matches(v, json_object_get_string(json_object_array_get_idx(x, i)));
		if (!ok) {
			*why = mlb_xasprintf("%s is %s, not %s", path, type_name(v), json_object_to_json_string(x));
			return 0;
		}
	}
	if (json_object_object_get_ex(s, "enum", &x)) {
		int ok = 0;

		for (size_t i = 0; i < json_object_array_length(x) && !ok; i++)
			ok = json_object_equal(v, json_object_array_get_idx(x, i));
		if (!ok) {
			*why = mlb_xasprintf("%s is %s, not one of %s", path,
					     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
					     json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN));
			return 0;
		}
	}
	if (json_object_is_type(v, json_type_object)) {
		if (json_object_object_get_ex(s, "required", &x))
			for (size_t i = 0; i < json_object_array_length(x); i++) {
				const char *name = json_object_get_string(json_object_array_get_idx(x, i));

				if (!json_object_object_get_ex(v, name, NULL)) {
					*why = mlb_xasprintf("%s has no \"%s\"", path, name);
					return 0;
				}
			}
		if (json_object_object_get_ex(s, "properties", &x)) {
			json_object_object_foreach(x, name, sub) {
				json_object *pv;
				char *p;
				int ok;

				if (!json_object_object_get_ex(v, name, &pv))
					continue;
				p = mlb_xasprintf("%s.%s", path, name);
				ok = schema_fits(pv, sub, p, why);
				free(p);
				if (!ok)
					return 0;
			}
		}
	}
	if (json_object_is_type(v, json_type_array) && json_object_object_get_ex(s, "items", &x))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char *p = mlb_xasprintf("%s[%zu]", path, i);
			int ok = schema_fits(json_object_array_get_idx(v, i), x, p, why);

			free(p);
			if (!ok)
				return 0;
		}
	return 1;
}

/* ---- validation ---- */

static int regex_compiles(const char *re, int icase, char *err, size_t size)
{
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));

	if (rc) {
		regerror(rc, &rx, err, size);
		return 0;
	}
	regfree(&rx);
	return 1;
}

static void validate_item(struct mlb_template *t, const char *who, size_t i, json_object *item)
{
	const char *second, *names = "contains, not_contains, regex, json, json_schema, max_cost, max_latency_ms, max_tokens, similar_to, judge";
	const struct kind *k = kind_of(item, &second);
	json_object *v, *x;
	char *problem;

	if (!json_object_is_type(item, json_type_object)) {
		mlb_template_problem(t, "%s\"expect\" item %zu is %s; each check is an object such as {\"contains\": \"tide\"}",
				     who, i + 1, type_name(item));
		return;
	}
	if (!k) {
		mlb_template_problem(t, "%s\"expect\" item %zu names no check; use one of %s", who, i + 1, names);
		return;
	}
	if (second) {
		mlb_template_problem(t, "%s\"expect\" item %zu has two checks, '%s' and '%s'; give each its own item",
				     who, i + 1, k->name, second);
		return;
	}
	json_object_object_foreach(item, key, val) {
		int known = !strcmp(key, k->name);

		(void)val;
		for (size_t j = 0; k->keys[j] && !known; j++)
			known = !strcmp(key, k->keys[j]);
		if (!known)
			mlb_template_problem(t, "%s\"expect\" item %zu (%s): unknown key '%s'%s%s", who, i + 1, k->name, key,
					     k->keys[0] ? "; it may also have " : "; it has no other keys",
					     k->keys[0] ? k->keys[0] : "");
	}
	json_object_object_get_ex(item, k->name, &v);
	switch (k->value) {
	case V_STRING:
		if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v)) {
			mlb_template_problem(t, "%s\"expect\" item %zu: \"%s\" is %s; give a non-empty string",
					     who, i + 1, k->name, json_object_is_type(v, json_type_string) ? "empty" : type_name(v));
			return;
		}
		break;
	case V_TRUE:
		if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v))
			mlb_template_problem(t, "%s\"expect\" item %zu: \"json\" takes true", who, i + 1);
		break;
	case V_OBJECT:
		if ((problem = schema_problem(v, "$"))) {
			mlb_template_problem(t, "%s\"expect\" item %zu: json_schema: %s", who, i + 1, problem);
			free(problem);
		}
		break;
	case V_NUMBER:
	case V_COUNT:
		if (!is_number(v) || json_object_get_double(v) < 0 ||
		    (k->value == V_COUNT && floor(json_object_get_double(v)) != json_object_get_double(v)))
			mlb_template_problem(t, "%s\"expect\" item %zu: \"%s\" takes %s, not %s", who, i + 1, k->name,
					     k->value == V_COUNT ? "a whole number >= 0" : "a number >= 0",
					     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		break;
	}
	if (json_object_object_get_ex(item, "ignore_case", &x) && !json_object_is_type(x, json_type_boolean))
		mlb_template_problem(t, "%s\"expect\" item %zu: \"ignore_case\" takes true or false", who, i + 1);
	if (!strcmp(k->name, "regex") && !strstr(json_object_get_string(v), "{{")) {
		char err[160];

		if (!regex_compiles(json_object_get_string(v), json_object_get_boolean(x), err, sizeof(err)))
			mlb_template_problem(t, "%s\"expect\" item %zu: regex '%s' does not compile: %s", who, i + 1,
					     json_object_get_string(v), err);
	}
	if (!strcmp(k->name, "similar_to") && json_object_object_get_ex(item, "min", &x) &&
	    (!is_number(x) || json_object_get_double(x) < 0 || json_object_get_double(x) > 1))
		mlb_template_problem(t, "%s\"expect\" item %zu: \"min\" is a similarity from 0 to 1", who, i + 1);
	if (!strcmp(k->name, "judge")) {
		const char *m = json_object_get_string(v), *colon = strchr(m, ':');

		if (!strstr(m, "{{") && (!colon || colon == m || !colon[1]))
			mlb_template_problem(t, "%s\"expect\" item %zu: judge '%s' is not provider:model", who, i + 1, m);
		if (!json_object_object_get_ex(item, "rubric", &x) || !json_object_is_type(x, json_type_string) ||
		    !json_object_get_string_len(x))
			mlb_template_problem(t, "%s\"expect\" item %zu: a judge needs a \"rubric\": what a good answer does",
					     who, i + 1);
	}
}

void mlb_expect_validate(struct mlb_template *t, const char *who, json_object *expect)
{
	size_t n;

	if (!json_object_is_type(expect, json_type_array)) {
		mlb_template_problem(t, "%s\"expect\" is %s; write a list of checks, e.g. [{\"contains\": \"tide\"}]",
				     who, type_name(expect));
		return;
	}
	n = json_object_array_length(expect);
	if (n > MLB_EXPECT_MAX) {
		mlb_template_problem(t, "%s\"expect\" has %zu checks; at most %d", who, n, MLB_EXPECT_MAX);
		return;
	}
	for (size_t i = 0; i < n; i++)
		validate_item(t, who, i, json_object_array_get_idx(expect, i));
}

size_t mlb_expect_texts(json_object *expect, const char **out, size_t max)
{
	size_t n = 0;

	if (!json_object_is_type(expect, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(expect) && n < max; i++) {
		json_object *item = json_object_array_get_idx(expect, i);

		if (!json_object_is_type(item, json_type_object))
			continue;
		json_object_object_foreach(item, key, val) {
			(void)key;
			if (json_object_is_type(val, json_type_string) && n < max)
				out[n++] = json_object_get_string(val);
		}
	}
	return n;
}

/* ---- running the checks ---- */

static int contains(const char *hay, size_t hlen, const char *needle, int icase)
{
	size_t nlen = strlen(needle);

	if (!icase)
		return memmem(hay, hlen, needle, nlen) != NULL;
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (!strncasecmp(hay + i, needle, nlen))
			return 1;
	return 0;
}

/* The answer's JSON: the text, or what one ``` fence around it holds; NULL with *why when it does not parse. */
static json_object *answer_json(const char *text, size_t len, char **why)
{
	json_tokener *tok = json_tokener_new();
	const char *s = text, *end = text + len;
	json_object *o;
	size_t n;

	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end - s >= 6 && !strncmp(s, "```", 3) && !strncmp(end - 3, "```", 3)) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if (nl && nl < end - 3) {
			s = nl + 1;
			end -= 3;
		}
	}
	n = (size_t)(end - s);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (json_tokener_get_error(tok) == json_tokener_continue && n) {
		o = json_tokener_parse_ex(tok, "", 1);	/* a bare number ends at the end of the text */
	}
	if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) < n) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		*why = n == 0 ? mlb_xstrdup("the answer is empty, not JSON") :
		       e != json_tokener_success ? mlb_xasprintf("the answer is not JSON: %s at byte %zu",
								 json_tokener_error_desc(e), json_tokener_get_parse_end(tok) + 1) :
		       mlb_xasprintf("the answer has more after its JSON value (byte %zu)", json_tokener_get_parse_end(tok) + 1);
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	if (!o)
		o = json_object_new_null();	/* the text "null" */
	return o;
}

/* A one-line quote of s for a reason: at most 60 bytes. */
static char *quote(const char *s)
{
	size_t n = strlen(s), cut = 57;

	if (n <= 60)
		return mlb_xasprintf("'%s'", s);
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;	/* not inside a UTF-8 sequence */
	return mlb_xasprintf("'%.*s...'", (int)cut, s);
}

static int run_item(json_object *item, const struct kind *k, const struct mlb_template *t,
		    const struct mlb_expect_answer *a, char **why)
{
	json_object *v, *x;
	int icase = json_object_object_get_ex(item, "ignore_case", &x) && json_object_get_boolean(x);
	char *s = NULL, *q;
	int pass = 0;

	json_object_object_get_ex(item, k->name, &v);
	if (k->value == V_STRING)
		s = mlb_template_expand_vars(t, json_object_get_string(v));
	if (!strcmp(k->name, "contains") || !strcmp(k->name, "not_contains")) {
		int found = contains(a->text, a->len, s, icase), want = !strcmp(k->name, "contains");

		q = quote(s);
		pass = found == want;
		*why = mlb_xasprintf("the answer %s %s%s", found ? "contains" : "does not contain", q,
				     icase ? " (ignoring case)" : "");
		free(q);
	} else if (!strcmp(k->name, "regex")) {
		regex_t rx;
		char err[160];
		int rc = regcomp(&rx, s, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));

		q = quote(s);
		if (rc) {
			regerror(rc, &rx, err, sizeof(err));
			*why = mlb_xasprintf("the regex %s does not compile: %s", q, err);
		} else {
			char *text = mlb_xstrndup(a->text, a->len);

			pass = regexec(&rx, text, 0, NULL, 0) == 0;
			*why = mlb_xasprintf("the answer %s %s", pass ? "matches" : "does not match", q);
			free(text);
			regfree(&rx);
		}
		free(q);
	} else if (!strcmp(k->name, "json") || !strcmp(k->name, "json_schema")) {
		json_object *o = answer_json(a->text, a->len, why);

		if (o && !strcmp(k->name, "json")) {
			pass = 1;
			*why = mlb_xasprintf("the answer is JSON (%s)", type_name(o));
		} else if (o) {
			pass = schema_fits(o, v, "$", why);
			if (pass)
				*why = mlb_xstrdup("the answer fits the schema");
		}
		json_object_put(o);
	} else if (!strcmp(k->name, "max_cost")) {
		double max = json_object_get_double(v);

		pass = a->priced && a->cost_usd <= max;
		*why = a->priced ? mlb_xasprintf("the answer cost $%.6f, the most allowed is $%.6f", a->cost_usd, max) :
				   mlb_xstrdup("the answer's cost is unknown (no price for the model)");
	} else if (!strcmp(k->name, "max_latency_ms")) {
		long max = json_object_get_int64(v);

		pass = a->latency_ms <= max;
		*why = mlb_xasprintf("the answer took %ld ms, the most allowed is %ld ms", a->latency_ms, max);
	} else if (!strcmp(k->name, "max_tokens")) {
		long max = json_object_get_int64(v);

		pass = a->completion_tokens <= max;
		*why = mlb_xasprintf("the answer has %ld tokens, the most allowed is %ld", a->completion_tokens, max);
	} else if (!strcmp(k->name, "similar_to")) {
		double min = json_object_object_get_ex(item, "min", &x) ? json_object_get_double(x) : DEFAULT_MIN_SIMILARITY;
		struct mlb_diff d = { 0 };

		if (mlb_compare_diff(a->text, a->len, s, strlen(s), MLB_DIFF_WORDS, &d) < 0) {
			*why = mlb_xstrdup("out of memory comparing the answer");
		} else {
			pass = d.similarity >= min;
			*why = mlb_xasprintf("similarity %.3f, the least allowed is %.3f", d.similarity, min);
		}
		mlb_diff_free(&d);
	}
	free(s);
	return pass;
}

int mlb_expect_run(json_object *expect, const struct mlb_template *t, const struct mlb_expect_answer *a,
		   mlb_expect_fn fn, void *ctx)
{
	int failed = 0;

	for (size_t i = 0; expect && i < json_object_array_length(expect); i++) {
		json_object *item = json_object_array_get_idx(expect, i);
		const char *second;
		const struct kind *k = kind_of(item, &second);
		char *why = NULL;
		int pass;

		if (!k || !strcmp(k->name, "judge"))
			continue;
		pass = run_item(item, k, t, a, &why);
		failed += !pass;
		fn(ctx, i, k->name, pass, why ? why : "");
		free(why);
	}
	return failed;
}

/* ---- judges ---- */

int mlb_expect_judge(json_object *expect, size_t i, const struct mlb_template *t, const char *question,
		     const char *answer, char **model, char **prompt)
{
	json_object *item = json_object_array_get_idx(expect, i), *v, *r;
	const char *second;
	const struct kind *k = kind_of(item, &second);
	char *rubric;

	if (!k || strcmp(k->name, "judge"))
		return -1;
	json_object_object_get_ex(item, "judge", &v);
	json_object_object_get_ex(item, "rubric", &r);
	*model = mlb_template_expand_vars(t, json_object_get_string(v));
	rubric = mlb_template_expand_vars(t, json_object_get_string(r));
	*prompt = mlb_xasprintf("You are grading an answer against a rubric. Reply with PASS or FAIL on the first line, "
				"then one line giving the reason.\n\nRubric:\n%s\n\nQuestion:\n%s\n\nAnswer:\n%s\n",
				rubric, question ? question : "", answer);
	free(rubric);
	return 0;
}

int mlb_expect_verdict(const char *reply, char **why)
{
	const char *s = reply, *nl;
	int pass;

	while (*s && !isalpha((unsigned char)*s))
		s++;
	if (!strncasecmp(s, "PASS", 4))
		pass = 1;
	else if (!strncasecmp(s, "FAIL", 4))
		pass = 0;
	else {
		*why = mlb_xasprintf("the judge gave no verdict: its reply does not start with PASS or FAIL (%.40s)", reply);
		return 0;
	}
	s += 4;
	while (*s && (isspace((unsigned char)*s) || *s == ':' || *s == '-' || *s == '.'))
		s++;
	nl = strchr(s, '\n');
	*why = *s ? mlb_xstrndup(s, nl ? (size_t)(nl - s) : strlen(s)) :
		    mlb_xstrdup(pass ? "the judge passed it" : "the judge failed it");
	return pass;
}
