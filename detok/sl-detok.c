/*
 * sl-detok — token ids to text (the last tool of the pipeline: ids -> sl-detok -> text).
 *
 * Reads ids (sl-tokens(5)) from FILEs (concatenated) or stdin and writes the text HF's
 * tokenizer.decode gives, flushed piece by piece as ids arrive (whenever no further id is
 * waiting in the input, so fast input is not written one id at a time); an incomplete UTF-8
 * character is held back until its bytes arrive (or replaced by U+FFFD at the end, as HF
 * does), so the output never ends in the middle of a character.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_cli.h"
#include "sl_tok.h"
#include "sl_tokio.h"

static const char usage[] = "usage: sl-detok [-qv] [-m model] [--skip-special] [file ...]";

static void help(void)
{
	printf("%s\n\n"
	       "Turn token ids (white-space separated, e.g. one per line) into UTF-8 text.\n\n"
	       "  -m, --model MODEL  tokenizer.json, HF model directory, GGUF file, or chunk\n"
	       "                     directory (sl-chunk)\n"
	       "                     (default: $SL_MODEL, else the embedded stories260K)\n"
	       "      --skip-special leave out special tokens (BOS, EOS, <|im_start|>, ...)\n"
	       "  -q, --quiet        no messages but errors\n"
	       "  -v, --verbose      describe the tokenizer on stderr\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      print the version\n\n"
	       "An id that is not a number or not in the vocabulary is an error (exit 1)\n"
	       "naming file:line:column.  Exit status: 0 success, 1 runtime failure, 2 usage error.\n",
	       usage);
	exit(0);
}

/* Does in still hold unread bytes in its stdio buffer?  (glibc only; elsewhere we ask poll.) */
static int buffered(FILE *in)
{
#ifdef __GLIBC__
	return in->_IO_read_ptr < in->_IO_read_end;
#else
	(void)in;
	return 0;
#endif
}

/*
 * Write a piece; flush it if the input has nothing more for us right now, i.e. before we could
 * block waiting for the next id.  So a pipeline shows text as soon as ids arrive, while a fast
 * producer or a file costs neither a write nor a poll per id.  (sl-tokens writers end each id
 * with one newline, which the reader consumes with the id; extra white space left alone in the
 * buffer could delay a flush until more input or the end.)
 */
static void put(const char *s, size_t n, FILE *in)
{
	static int unflushed;
	struct pollfd p = { fileno(in), POLLIN, 0 };

	if (n && fwrite(s, 1, n, stdout) != n)
		sl_die("stdout: %s", strerror(errno));
	unflushed |= n > 0;
	if (unflushed && !buffered(in) && poll(&p, 1, 0) == 0) {
		if (fflush(stdout) != 0)
			sl_die("stdout: %s", strerror(errno));
		unflushed = 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "skip-special", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL;
	int skip = 0, verbose = 0, c;

	sl_cli_init("sl-detok");
	opterr = 0; /* our own message, with the program name sl_cli uses */
	while ((c = getopt_long(argc, argv, ":m:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'S': skip = 1; break;
		case 'q': verbose = -1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); break;
		case 'V': sl_version(); break;
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (!model)
		model = sl_default_model();
	sl_tok *t = sl_tok_load(model);
	if (!t)
		sl_die_lib();
	if (verbose > 0)
		fprintf(stderr, "sl-detok: %s: %s tokenizer, %d ids\n", model, sl_tok_gguf_model(t), sl_tok_n_vocab(t));
	sl_tok_dec *d = sl_tok_dec_new(t, skip);
	if (!d)
		sl_die_lib();

	int nfiles = argc - optind;
	for (int f = 0; f < (nfiles ? nfiles : 1); f++) {
		FILE *fp = stdin;
		const char *name = "<stdin>";
		sl_tokin r;
		int32_t id;
		int rc;
		if (nfiles && strcmp(argv[optind + f], "-") != 0) {
			name = argv[optind + f];
			fp = fopen(name, "r");
			if (!fp)
				sl_die("%s: %s", name, strerror(errno));
		}
		sl_tokin_init(&r, fp, name);
		while ((rc = sl_tokin_next(&r, &id)) == 1) {
			const char *s;
			size_t n;
			if (id >= sl_tok_n_vocab(t))
				sl_die("%s:%llu:%llu: id %d >= vocab %d", name, (unsigned long long)r.tok_line,
				       (unsigned long long)r.tok_col, (int)id, sl_tok_n_vocab(t));
			if (sl_tok_dec_push(d, id, &s, &n) < 0)
				sl_die("%s:%llu:%llu: %s", name, (unsigned long long)r.tok_line,
				       (unsigned long long)r.tok_col, sl_error());
			put(s, n, fp);
		}
		if (rc < 0)
			sl_die_lib();
		if (fp != stdin)
			fclose(fp);
	}
	const char *s;
	size_t n;
	if (sl_tok_dec_finish(d, &s, &n) < 0)
		sl_die_lib();
	if (n && fwrite(s, 1, n, stdout) != n)
		sl_die("stdout: %s", strerror(errno));
	sl_tok_dec_free(d);
	sl_tok_free(t);
	sl_close_stdout();
	return 0;
}
