/*
 * test_tokio — the token stream reader and writer (lib/sl_tokio.c, sl-tokens(5)).
 *
 * Expected values are written out by hand from the format: decimal ids separated by any
 * white space; anything else is an error naming name:line:column (1-based, the column of the
 * token's first byte) and the offending text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_tokio.h"

/* Read every id of s; returns the count, or -1 - count on error (sl_error set). */
static int read_ids(const char *s, int32_t *ids, int max)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");
	sl_tokin r;
	int n = 0, rc;
	int32_t id;

	sl_tokin_init(&r, f, "ids.txt");
	while ((rc = sl_tokin_next(&r, &id)) == 1)
		if (n < max)
			ids[n++] = id;
	fclose(f);
	return rc < 0 ? -1 - n : n;
}

static void test_good(void)
{
	int32_t ids[16];

	CHECK(read_ids("", ids, 16) == 0);
	CHECK(read_ids(" \n\t\r\n", ids, 16) == 0);
	CHECK(read_ids("1\n22\n333\n", ids, 16) == 3 && ids[0] == 1 && ids[1] == 22 && ids[2] == 333);
	CHECK(read_ids("  7 8\t9\r\n10\v11\f12", ids, 16) == 6 && ids[0] == 7 && ids[5] == 12);
	CHECK(read_ids("0\n00042", ids, 16) == 2 && ids[0] == 0 && ids[1] == 42);
	CHECK(read_ids("2147483647", ids, 16) == 1 && ids[0] == 2147483647);
}

static void test_bad(void)
{
	int32_t ids[16];

	CHECK(read_ids("1\n2\nx3\n", ids, 16) == -3);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:3:1: 'x3' is not a token id"), "%s", sl_error());
	CHECK(read_ids("1 2  -5", ids, 16) == -3);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:1:6: '-5' is not a token id"), "%s", sl_error());
	CHECK(read_ids("\n\n   12a 4", ids, 16) == -1);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:3:4: '12a' is not a token id"), "%s", sl_error());
	CHECK(read_ids("1\n+2\n", ids, 16) == -2);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:2:1: '+2' is not a token id"), "%s", sl_error());
	CHECK(read_ids("5 1.0", ids, 16) == -2);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:1:3: '1.0' is not a token id"), "%s", sl_error());
	CHECK(read_ids("2147483648", ids, 16) == -1);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:1:1: '2147483648' is out of range"), "%s", sl_error());
	CHECK(read_ids("1\n99999999999999999999999\n", ids, 16) == -2);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:2:1: '99999999999999999999999' is out of range"), "%s", sl_error());
	/* control bytes are shown escaped */
	CHECK(read_ids("4 a\x01" "b", ids, 16) == -2);
	CHECK_MSG(!strcmp(sl_error(), "ids.txt:1:3: 'a\\x01b' is not a token id"), "%s", sl_error());
	/* a long bad token is shortened */
	char longtok[200];
	memset(longtok, 'z', sizeof longtok - 1);
	longtok[sizeof longtok - 1] = '\0';
	CHECK(read_ids(longtok, ids, 16) == -1);
	CHECK_MSG(strstr(sl_error(), "...' is not a token id") != NULL && strlen(sl_error()) < 80, "%s", sl_error());
}

static void test_read_all(void)
{
	static const char s[] = "3 1\n4 1\n5\n9 2 6\n";
	FILE *f = fmemopen((void *)s, strlen(s), "r");
	sl_tokin r;
	int32_t *ids = NULL;
	size_t n = 0;

	sl_tokin_init(&r, f, "<stdin>");
	CHECK(sl_tokin_read_all(&r, 10, &ids, &n) == 0 && n == 8 && ids[0] == 3 && ids[7] == 6);
	free(ids);
	fclose(f);
	/* out of range against a vocabulary: position of the id */
	f = fmemopen((void *)s, strlen(s), "r");
	sl_tokin_init(&r, f, "<stdin>");
	CHECK(sl_tokin_read_all(&r, 6, &ids, &n) == -1);
	CHECK_MSG(!strcmp(sl_error(), "<stdin>:4:1: id 9 >= vocab 6"), "%s", sl_error());
	fclose(f);
	/* many ids (the array grows) */
	char *big = malloc(100000 * 7 + 1);
	size_t o = 0;
	for (int i = 0; i < 100000; i++)
		o += (size_t)sprintf(big + o, "%d\n", i);
	f = fmemopen(big, o, "r");
	sl_tokin_init(&r, f, "big");
	CHECK(sl_tokin_read_all(&r, 0, &ids, &n) == 0 && n == 100000 && ids[99999] == 99999 && ids[12345] == 12345);
	free(ids);
	fclose(f);
	free(big);
}

static void test_write(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(sl_tokout(f, 0, 0) == 0 && sl_tokout(f, 7, 1) == 0 && sl_tokout(f, 49151, 0) == 0);
	CHECK(sl_tokout(f, 2147483647, 0) == 0);
	fclose(f);
	CHECK(buf && !strcmp(buf, "0\n7\n49151\n2147483647\n"));
	/* what the writer writes, the reader reads back */
	int32_t ids[8];
	CHECK(read_ids(buf, ids, 8) == 4 && ids[2] == 49151 && ids[3] == 2147483647);
	free(buf);
	/* a write error is reported */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		CHECK(sl_tokout(f, 1, 1) == -1);
		CHECK_MSG(!strcmp(sl_error(), "stdout: No space left on device"), "%s", sl_error());
		fclose(f);
	}
}

int main(void)
{
	test_good();
	test_bad();
	test_read_all();
	test_write();
	return CHECK_DONE();
}
