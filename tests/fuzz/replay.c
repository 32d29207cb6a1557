/*
 * replay.c - a main() for the fuzz harnesses without libFuzzer: each
 * argument is a file (or a directory of files) whose bytes are handed to
 * LLVMFuzzerTestOneInput() once.  A harness that finds a problem aborts, so
 * the exit status says whether every input passed.  Built by
 * `make fuzz-replay` with the normal compiler; tests/0900-hardening.bats
 * runs every regression input and seed through it.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

/* Harnesses without setup do not define it; the weak reference is then NULL. */
#pragma weak LLVMFuzzerInitialize

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so that ASan catches a read one past the end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact)
			abort();
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int replay(const char *path, int *count)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int bad = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		bad |= replay(sub, count);
	}
	closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	int bad = 0, count = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		bad |= replay(argv[i], &count);
	fprintf(stderr, "replay: %d input%s, %s\n", count, count == 1 ? "" : "s", bad ? "errors" : "ok");
	return bad ? 1 : 0;
}
