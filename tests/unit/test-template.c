/*
 * test-template.c - pipeline templates: parsing, every problem the checks
 * find (with the exact line each prints), the order of waves, variables and
 * their priority, and placeholder expansion.
 */
#include "msg.h"
#include "template.h"
#include "unit.h"

#include <stdlib.h>

static const char example[] =
	"{\"name\": \"review\", \"description\": \"draft twice, check facts, critique, brief\",\n"
	" \"vars\": {\"topic\": \"tides\"},\n"
	" \"steps\": [\n"
	"  {\"id\": \"draft\", \"models\": [\"groq:llama-3.1-8b-instant\", \"gemini:gemini-2.0-flash\"], \"prompt\": \"Write about {{topic}}.\"},\n"
	"  {\"id\": \"facts\", \"models\": [\"openai:gpt-4o-mini\"], \"prompt\": \"List facts about {{topic}}.\"},\n"
	"  {\"id\": \"critique\", \"needs\": [\"draft\", \"facts\"], \"models\": [\"anthropic:claude-3-5-haiku-latest\"], \"prompt\": \"Critique:\\n{{draft}}\\nFacts:\\n{{facts}}\"},\n"
	"  {\"id\": \"brief\", \"needs\": [\"critique\"], \"summarize\": \"executive\", \"models\": [\"openai:gpt-4o-mini\"]}\n"
	" ]}\n";

static struct mlb_template *parse(const char *text)
{
	return mlb_template_parse(text, strlen(text), "t.json");
}

/* Parse and check; the problems joined by newlines (caller frees). */
static char *problems(const char *text)
{
	struct mlb_template *t = parse(text);
	size_t len = 0;
	char *out;

	if (t->json)
		mlb_template_check(t);
	for (size_t i = 0; i < t->nproblems; i++)
		len += strlen(t->problems[i]) + 1;
	out = mlb_xcalloc(len + 1, 1);
	for (size_t i = 0; i < t->nproblems; i++) {
		strcat(out, t->problems[i]);
		strcat(out, "\n");
	}
	mlb_template_free(t);
	return out;
}

#define CHECK_PROBLEMS(text, want) do { \
	char *p_ = problems(text); \
	CHECK_STR(p_, want); \
	free(p_); \
} while (0)

static void test_example(void)
{
	struct mlb_template *t = parse(example);

	mlb_template_check(t);
	CHECK_INT(t->nproblems, 0);
	CHECK_STR(t->name, "review");
	CHECK_STR(t->description, "draft twice, check facts, critique, brief");
	CHECK_INT(t->nsteps, 4);
	CHECK_INT(t->nwaves, 3);
	CHECK_INT(t->steps[0].wave, 1);
	CHECK_INT(t->steps[1].wave, 1);
	CHECK_INT(t->steps[2].wave, 2);
	CHECK_INT(t->steps[3].wave, 3);
	CHECK_INT(t->steps[2].nneeds, 2);
	CHECK_INT(t->steps[2].need[0], 0);
	CHECK_INT(t->steps[2].need[1], 1);
	CHECK_STR(t->steps[3].summarize, "executive");
	CHECK(t->steps[3].prompt == NULL);
	CHECK_STR(mlb_template_var(t, "topic"), "tides");
	CHECK_INT(mlb_template_step_index(t, "critique"), 2);
	CHECK_INT(mlb_template_step_index(t, "nope"), -1);
	{
		char *p1 = mlb_template_pane(&t->steps[0], 0), *p2 = mlb_template_pane(&t->steps[0], 1);
		char *p3 = mlb_template_pane(&t->steps[1], 0);

		CHECK_STR(p1, "draft-1");
		CHECK_STR(p2, "draft-2");
		CHECK_STR(p3, "facts");
		free(p1);
		free(p2);
		free(p3);
	}
	mlb_template_free(t);
}

static void test_json_errors(void)
{
	struct mlb_template *t = parse("{\n  \"steps\": [\n    {\"id\": \"a\",, }\n  ]\n}\n");

	CHECK_INT(t->nproblems, 1);
	CHECK(!strncmp(t->problems[0], "t.json:3:16: malformed JSON: ", 29));
	mlb_template_free(t);
	t = parse("{\"steps\": [");
	CHECK_INT(t->nproblems, 1);
	CHECK_STR(t->problems[0], "t.json:1:12: malformed JSON: the file ends inside the document; close every string, [ and {");
	mlb_template_free(t);
	t = parse("{\"steps\": []} x");
	CHECK_INT(t->nproblems, 1);
	CHECK(!strncmp(t->problems[0], "t.json:1:15: malformed JSON: ", 29));
	mlb_template_free(t);
	CHECK_PROBLEMS("  \n", "t.json: the file is empty; a template is a JSON object with \"steps\" (see mlb-pipeline(5))\n");
	CHECK_PROBLEMS("[1]", "t.json: the template is an array; it must be a JSON object with \"steps\" (see mlb-pipeline(5))\n");
	/* the name comes from the file when the template has none */
	t = mlb_template_parse("{}", 2, "dir/my nightly.json");
	CHECK_STR(t->name, "my-nightly");
	mlb_template_free(t);
}

static void test_structure(void)
{
	CHECK_PROBLEMS("{\"steps\": []}", "t.json: \"steps\" is empty; it must be a list of at least one step\n");
	CHECK_PROBLEMS("{\"name\": \"x\"}",
		       "t.json: there are no \"steps\"; add a list of steps, e.g. \"steps\": [{\"id\": \"ask\", \"models\": [...], \"prompt\": \"...\"}]\n");
	CHECK_PROBLEMS("{\"stpes\": [], \"steps\": [{\"id\": \"a\", \"models\": [\"openai:x\"], \"prompt\": \"p\", \"need\": []}]}",
		       "t.json: unknown key 'stpes' (known: name, description, vars, steps); did you mean 'steps'?\n"
		       "t.json: step 'a': unknown key 'need' (known: id, needs, models, prompt, system, options, summarize, expect, search, count); did you mean 'needs'?\n");
	CHECK_PROBLEMS("{\"steps\": [{\"models\": [\"openai:x\"], \"prompt\": \"p\"}, 3, {\"id\": \"b c\", \"models\": [], \"prompt\": \"\"}]}",
		       "t.json: step 1: has no \"id\"; give it one, e.g. \"id\": \"draft\"\n"
		       "t.json: step 2: is a number; each step is an object with \"id\", \"models\" and \"prompt\"\n"
		       "t.json: step 3: id 'b c' is not a valid id; use 1 to 60 letters, digits, '_' or '-', not starting with '-'\n"
		       "t.json: step 3: \"models\" is empty; list at least one model\n"
		       "t.json: step 3: \"prompt\" is empty; write what to ask\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"models\": \"openai:x\", \"options\": [1], \"system\": 2}]}",
		       "t.json: step 'a': \"models\" is a string; write it as a list of strings, e.g. [\"a\", \"b\"]\n"
		       "t.json: step 'a': \"system\" is a number; write it as a string\n"
		       "t.json: step 'a': \"options\" is an array; write request options as an object, e.g. {\"temperature\": 0.2}\n"
		       "t.json: step 'a': has no \"prompt\"; add one (or \"summarize\": \"executive\" with \"needs\")\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"prompt\": \"p\"}]}",
		       "t.json: step 'a': has no \"models\"; list at least one, e.g. \"models\": [\"openai:gpt-4o-mini\"]\n");
	CHECK_PROBLEMS("{\"vars\": {\"ok\": 1, \"bad name\": \"x\", \"list\": [1]}, \"steps\": [{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"{{ok}}\"}]}",
		       "t.json: variable 'bad name': a name is 1 to 60 letters, digits, '_' or '-'; rename it\n"
		       "t.json: variable 'list' is an array; give it a string, number or boolean value\n");
}

static void test_graph(void)
{
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"draft\", \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"facts\", \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"critique\", \"needs\": [\"drafts\", \"facts\"], \"models\": [\"o:m\"], \"prompt\": \"p\"}]}",
		       "t.json: step 'critique': needs unknown step 'drafts' (known: draft, facts); did you mean 'draft'?\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"q\"}]}",
		       "t.json: step 'a': the id is already used by step 1; give each step its own id\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"needs\": [\"c\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"b\", \"needs\": [\"a\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"c\", \"needs\": [\"b\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"d\", \"needs\": [\"c\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"e\", \"models\": [\"o:m\"], \"prompt\": \"p\"}]}",
		       "t.json: step 'a': is in a cycle (a needs c, c needs b, b needs a); remove one of these needs\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"needs\": [\"a\", \"b\", \"b\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"b\", \"models\": [\"o:m\"], \"prompt\": \"p\"}]}",
		       "t.json: step 'a': needs itself; remove 'a' from its needs\n"
		       "t.json: step 'a': needs 'b' twice; list it once\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"models\": [\"o:m\", \"o:n\"], \"prompt\": \"p\"},"
		       "{\"id\": \"a-2\", \"models\": [\"o:m\"], \"prompt\": \"p\"}]}",
		       "t.json: step 'a-2': its pane 'a-2' is also a pane of step 'a'; rename one of the steps\n");
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"p\"},"
		       "{\"id\": \"s\", \"summarize\": \"exec\", \"needs\": [\"a\"], \"models\": [\"o:m\"]},"
		       "{\"id\": \"t\", \"summarize\": \"bullet\", \"models\": [\"o:m\"]},"
		       "{\"id\": \"u\", \"summarize\": \"bullet\", \"needs\": [\"a\"], \"prompt\": \"p\", \"models\": [\"o:m\"]}]}",
		       "t.json: step 's': unknown summarize format 'exec'; use executive, technical or bullet\n"
		       "t.json: step 't': summarizes nothing; list the steps whose answers it summarizes in \"needs\"\n"
		       "t.json: step 'u': has both \"prompt\" and \"summarize\"; a summarize step writes its own prompt, so drop one\n");
	/* a diamond: waves follow the longest path */
	{
		struct mlb_template *t = parse("{\"steps\": ["
			"{\"id\": \"d\", \"needs\": [\"b\", \"c\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
			"{\"id\": \"c\", \"needs\": [\"b\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
			"{\"id\": \"b\", \"needs\": [\"a\"], \"models\": [\"o:m\"], \"prompt\": \"p\"},"
			"{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"p\"}]}");

		CHECK_INT(t->nproblems, 0);
		CHECK_INT(t->nwaves, 4);
		CHECK_INT(t->steps[0].wave, 4);
		CHECK_INT(t->steps[1].wave, 3);
		CHECK_INT(t->steps[2].wave, 2);
		CHECK_INT(t->steps[3].wave, 1);
		mlb_template_free(t);
	}
}

static void test_placeholders_checked(void)
{
	CHECK_PROBLEMS("{\"vars\": {\"topic\": \"t\"}, \"steps\": ["
		       "{\"id\": \"draft\", \"models\": [\"o:m\", \"o:n\"], \"prompt\": \"{{topc}} {{topic}}\"},"
		       "{\"id\": \"facts\", \"models\": [\"o:m\"], \"prompt\": \"{{facts}}\"},"
		       "{\"id\": \"crit\", \"needs\": [\"draft\"], \"models\": [\"o:m\"], "
		       "\"prompt\": \"{{draft.3}} {{draft.0}} {{draft.2}} {{facts}} {{topic.1}} {{ topc }}\"},"
		       "{\"id\": \"m\", \"needs\": [\"facts\"], \"models\": [\"{{facts}}\", \"{{who}}\"], \"prompt\": \"{{facts.2}}\"}]}",
		       "t.json: step 'draft': {{topc}} is neither a variable nor a step it needs (variables: topic); "
		       "set it in \"vars\", with --var topc=<value> or in MLB_VAR_topc, or did you mean {{topic}}?\n"
		       "t.json: step 'facts': {{facts}} is its own output; a step cannot read its own answers\n"
		       "t.json: step 'crit': {{draft.3}}: step 'draft' has 2 models; use {{draft.1}} to {{draft.2}}\n"
		       "t.json: step 'crit': {{draft.0}}: step 'draft' has 2 models; use {{draft.1}} to {{draft.2}}\n"
		       "t.json: step 'crit': {{facts}} is the output of step 'facts', which it does not need; add \"facts\" to its needs\n"
		       "t.json: step 'crit': {{topic.1}}: 'topic' is a variable, not a step; write {{topic}}\n"
		       "t.json: step 'crit': {{topc}} is neither a variable nor a step it needs (variables: topic); "
		       "set it in \"vars\", with --var topc=<value> or in MLB_VAR_topc, or did you mean {{topic}}?\n"
		       "t.json: step 'm': {{facts.2}}: step 'facts' has 1 model; use {{facts.1}} or {{facts}}\n"
		       "t.json: step 'm': model '{{facts}}': a model may hold variables, not the output of a step; use a variable\n"
		       "t.json: step 'm': model '{{who}}': {{who}} is neither a variable nor a step it needs (variables: topic); "
		       "set it in \"vars\", with --var who=<value> or in MLB_VAR_who\n");
	CHECK_PROBLEMS("{\"vars\": {\"a\": \"x\"}, \"steps\": [{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"p\"}]}",
		       "t.json: variable 'a' has the name of a step; rename the variable or the step\n");
	/* {{{{ is a literal, and braces that open no placeholder are text */
	CHECK_PROBLEMS("{\"steps\": [{\"id\": \"a\", \"models\": [\"o:m\"], \"prompt\": \"{{{{x}} {{ }} {{a b}} {x}\"}]}", "");
}

static char *lookup(void *ctx, const char *name, long n)
{
	(void)ctx;
	if (!strcmp(name, "x") && n < 0)
		return mlb_xstrdup("X");
	if (!strcmp(name, "s"))
		return n < 0 ? mlb_xstrdup("all") : mlb_xasprintf("one-%ld", n);
	return NULL;
}

static void test_expand(void)
{
	struct { const char *in, *out; } cases[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "{{x}}", "X" },
		{ "a {{ x }} b {{x}}{{x}}", "a X b XX" },
		{ "{{s}} {{s.2}} {{s.10}}", "all one-2 one-10" },
		{ "{{y}} stays", "{{y}} stays" },
		{ "{{x.1}}", "{{x.1}}" },
		{ "{{{{x}}", "{{x}}" },
		{ "{{{x}}}", "{X}" },
		{ "{{ x", "{{ x" },
		{ "{{x}", "{{x}" },
		{ "{{x.}}", "{{x.}}" },
		{ "{{a b}}", "{{a b}}" },
		{ "{", "{" },
		{ "{{", "{{" },
		{ "}}{{x}}{{", "}}X{{" },
		{ "caf\xc3\xa9 {{x}}", "caf\xc3\xa9 X" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = mlb_template_expand(cases[i].in, lookup, NULL);

		CHECK_STR(got, cases[i].out);
		free(got);
	}
}

static char *nothing(void *ctx, const char *name, long n)
{
	(void)ctx;
	(void)name;
	(void)n;
	return mlb_xstrdup("!");
}

static void test_escape(void)
{
	const char *texts[] = { "no braces", "{{x}}", "{{{x}}}", "{{{{", "a {{ b }} {{c.1}} {", "{{{{{{{{{" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *esc = mlb_template_escape(texts[i]), *back = mlb_template_expand(esc, nothing, NULL);

		CHECK_STR(back, texts[i]);
		free(esc);
		free(back);
	}
	{
		char *esc = mlb_template_escape("{{x}}");

		CHECK_STR(esc, "{{{{x}}");
		free(esc);
	}
}

static void test_vars(void)
{
	struct mlb_template *t = parse("{\"vars\": {\"topic\": \"tides\", \"n\": 3, \"b\": true, \"model\": \"openai:gpt-4o-mini\"},"
				       "\"steps\": [{\"id\": \"a\", \"models\": [\"{{model}}\", \"gemini:{{topic}}\"], \"prompt\": \"{{topic}} {{n}} {{b}}\"}]}");
	char *env[] = { "MLB_VAR_topic=moon", "MLB_VAR_only_env=e", "MLB_VAR_bad name=x", "PATH=/bin", "MLB_VARtopic=no", NULL };
	char *m;

	CHECK_INT(t->nproblems, 0);
	CHECK_STR(mlb_template_var(t, "n"), "3");
	CHECK_STR(mlb_template_var(t, "b"), "true");
	m = mlb_template_model(t, &t->steps[0], 0);
	CHECK_STR(m, "openai:gpt-4o-mini");
	free(m);
	/* rising priority: the template, the environment, --var */
	mlb_template_env_vars(t, env);
	CHECK_STR(mlb_template_var(t, "topic"), "moon");
	CHECK_STR(mlb_template_var(t, "only_env"), "e");
	CHECK(mlb_template_var(t, "bad name") == NULL);
	CHECK_INT(mlb_template_option_var(t, "topic=sun"), 0);
	CHECK_STR(mlb_template_var(t, "topic"), "sun");
	/* a lower source never overrides a higher one, whatever the order */
	mlb_template_env_vars(t, env);
	CHECK_STR(mlb_template_var(t, "topic"), "sun");
	CHECK_INT(mlb_template_set_var(t, "topic", "x", MLB_VAR_TEMPLATE), 0);
	CHECK_STR(mlb_template_var(t, "topic"), "sun");
	CHECK_INT(mlb_template_option_var(t, "eq=a=b"), 0);
	CHECK_STR(mlb_template_var(t, "eq"), "a=b");
	CHECK_INT(mlb_template_option_var(t, "empty="), 0);
	CHECK_STR(mlb_template_var(t, "empty"), "");
	CHECK_INT(mlb_template_option_var(t, "novalue"), -1);
	CHECK_INT(mlb_template_option_var(t, "=x"), -1);
	CHECK_INT(mlb_template_option_var(t, "a.b=x"), -1);
	m = mlb_template_model(t, &t->steps[0], 1);
	CHECK_STR(m, "gemini:sun");
	free(m);
	m = mlb_template_expand_vars(t, "{{topic}} {{a}} {{a.1}}");
	CHECK_STR(m, "sun {{a}} {{a.1}}");
	free(m);
	mlb_template_free(t);
}

static void test_names(void)
{
	const char *const cands[] = { "draft", "facts", NULL, "critique" };

	CHECK(mlb_template_name_valid("a"));
	CHECK(mlb_template_name_valid("step_2-b"));
	CHECK(!mlb_template_name_valid(""));
	CHECK(!mlb_template_name_valid("a.b"));
	CHECK(!mlb_template_name_valid("a b"));
	CHECK(mlb_template_name_valid("123456789012345678901234567890123456789012345678901234567890"));
	CHECK(!mlb_template_name_valid("1234567890123456789012345678901234567890123456789012345678901"));
	CHECK_STR(mlb_template_nearest("drafts", cands, 4), "draft");
	CHECK_STR(mlb_template_nearest("critiqe", cands, 4), "critique");
	CHECK(mlb_template_nearest("zzz", cands, 4) == NULL);
	CHECK(mlb_template_nearest("d", cands, 4) == NULL);
}

int main(void)
{
	test_example();
	test_json_errors();
	test_structure();
	test_graph();
	test_placeholders_checked();
	test_expand();
	test_escape();
	test_vars();
	test_names();
	return unit_done();
}
