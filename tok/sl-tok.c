/*
 * sl-tok — text to token ids (the first tool of the pipeline: text -> sl-tok -> ids).
 *
 * Reads UTF-8 text from FILEs (concatenated, like cat) or stdin and writes one id per line
 * (sl-tokens(5)), exactly the ids of HF's tokenizer for the model's tokenizer.json.  Ids are
 * written as soon as they are final and flushed after each read, so the tool streams and
 * works in bounded memory on any input size (see sl_tok.h).  One newline that ends the input
 * is dropped unless --keep-final-newline: `echo text | sl-tok` tokenizes "text", as a prompt;
 * so a final "\n" is held back until the next byte or the end of the input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_cli.h"
#include "sl_tok.h"
#include "sl_tokio.h"

static const char usage[] =
	"usage: sl-tok [-qv] [-m model] [--no-special] [--bos | --no-bos] [--keep-final-newline] [--show] [file ...]";

static void help(void)
{
	printf("%s\n\n"
	       "Tokenize UTF-8 text (files, or stdin) into token ids, one per line.\n\n"
	       "  -m, --model MODEL  tokenizer.json, HF model directory, GGUF file, or chunk\n"
	       "                     directory (sl-chunk)\n"
	       "                     (default: $SL_MODEL, else the embedded stories260K)\n"
	       "      --no-special   special tokens in the text (e.g. <|im_start|>) are plain text\n"
	       "      --bos          prepend the BOS token\n"
	       "      --no-bos       do not prepend BOS (default: as the tokenizer says)\n"
	       "      --keep-final-newline\n"
	       "                     tokenize the newline that ends the input too (default: drop\n"
	       "                     one final \"\\n\" or \"\\r\\n\", as llama.cpp does with a prompt file)\n"
	       "      --show         print \"id<TAB>piece\" lines, the piece as decoded text with\n"
	       "                     \\n \\t \\r \\\\ escaped and other control or partial-character\n"
	       "                     bytes as \\xNN (SentencePiece '\xe2\x96\x81' shown as a space)\n"
	       "  -q, --quiet        no messages but errors\n"
	       "  -v, --verbose      describe the tokenizer on stderr\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      print the version\n\n"
	       "Invalid UTF-8 input is an error (exit 1) naming the file and byte offset.\n"
	       "Exit status: 0 success, 1 runtime failure, 2 usage error.\n", usage);
	exit(0);
}

typedef struct {
	const sl_tok *t;
	int show;
} out_ctx;

static int put_id(void *ctx, int32_t id)
{
	out_ctx *o = ctx;

	if (!o->show)
		return sl_tokout(stdout, id, 0);
	char piece[1024];
	sl_tok_show(o->t, id, piece, sizeof piece);
	if (printf("%d\t%s\n", (int)id, piece) < 0)
		return sl_seterr_sys(errno ? errno : EIO, "stdout");
	return 0;
}

/*
 * An encoder failure while reading input `name`: bad input, or the output callback failing
 * (SL_E_IO, which the encoder itself never sets), whose message names stdout already.
 */
static _Noreturn void die_enc(const char *name)
{
	if (sl_errcode() == SL_E_IO)
		sl_die_lib();
	sl_die("%s: %s", name, sl_error());
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "no-special", no_argument, NULL, 'S' },
		{ "bos", no_argument, NULL, 'B' },
		{ "no-bos", no_argument, NULL, 'N' },
		{ "keep-final-newline", no_argument, NULL, 'K' },
		{ "show", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL;
	int flags = SL_TOK_TRIM_NEWLINE, verbose = 0, c;
	out_ctx o = { NULL, 0 };

	sl_cli_init("sl-tok");
	opterr = 0; /* our own message, with the program name sl_cli uses */
	while ((c = getopt_long(argc, argv, ":m:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'S': flags |= SL_TOK_NO_SPECIAL; break;
		case 'B': flags = (flags & ~SL_TOK_NO_BOS) | SL_TOK_BOS; break;
		case 'N': flags = (flags & ~SL_TOK_BOS) | SL_TOK_NO_BOS; break;
		case 'K': flags &= ~SL_TOK_TRIM_NEWLINE; break;
		case 's': o.show = 1; break;
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
	o.t = t;
	if (verbose > 0)
		fprintf(stderr, "sl-tok: %s: %s tokenizer, %d ids, %d merges, bos %d%s\n", model,
			sl_tok_gguf_model(t), sl_tok_n_vocab(t), sl_tok_n_merges(t), sl_tok_bos(t),
			sl_tok_add_bos(t) ? " (added)" : "");
	sl_tok_enc *e = sl_tok_enc_new(t, flags);
	if (!e)
		sl_die("%s: %s", model, sl_error());

	int nfiles = argc - optind;
	static char buf[1 << 16];
	const char *name = "<stdin>";
	for (int f = 0; f < (nfiles ? nfiles : 1); f++) {
		int fd = 0;
		name = "<stdin>";
		if (nfiles && strcmp(argv[optind + f], "-") != 0) {
			name = argv[optind + f];
			fd = open(name, O_RDONLY);
			if (fd < 0)
				sl_die("%s: %s", name, strerror(errno));
		}
		if (f > 0 && sl_tok_enc_mark(e) < 0)
			die_enc(argv[optind + f - 1]);
		for (;;) {
			ssize_t n = read(fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				sl_die("%s: %s", name, strerror(errno));
			if (n == 0)
				break;
			if (sl_tok_enc_feed(e, buf, (size_t)n, put_id, &o) < 0)
				die_enc(name);
			if (fflush(stdout) != 0)
				sl_die("stdout: %s", strerror(errno));
		}
		if (fd != 0)
			close(fd);
	}
	if (sl_tok_enc_finish(e, put_id, &o) < 0)
		die_enc(name);
	sl_tok_enc_free(e);
	sl_tok_free(t);
	sl_close_stdout();
	return 0;
}
