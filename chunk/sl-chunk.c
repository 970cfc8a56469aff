/*
 * sl-chunk — cut a GGUF model into layer chunks with a manifest and checksums, check such a
 * directory, or join it back into the original file (sl-chunk(1), sl-manifest(5)).
 *
 * The chunks are llama.cpp gguf-split shards (unless compressed): a core chunk with the
 * metadata, tokenizer, embedding and output head, then chunks of whole transformer blocks.
 * The planning, writing, checking and joining live in lib/sl_chunk.c; this is the glue:
 * options, the atomic output directory (sl_cli.h), and messages.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sl_cli.h"
#include "sl_manifest.h"

static const char usage[] =
	"usage: sl-chunk [-qv] [-o dir] [--layers n | --size size] [--zstd[=level]] model\n"
	"       sl-chunk [-q] --verify dir\n"
	"       sl-chunk [-q] --join -o out dir";

#define DEFAULT_SIZE 512000000ull  /* 512M: what wllama advises per file for browsers */
#define DEFAULT_LEVEL 3

static void help(void)
{
	printf("%s\n\n"
	       "Cut a GGUF model into chunks of whole layers with a manifest of checksums,\n"
	       "check a chunk directory, or join it back into the original file.\n\n"
	       "  -o, --output DIR    chunk directory (default: MODEL without .gguf); with --join,\n"
	       "                      the GGUF file to write\n"
	       "  -l, --layers N      N transformer blocks per layer chunk\n"
	       "  -s, --size SIZE     as many whole blocks per chunk as fit SIZE bytes (suffix\n"
	       "                      K, M, G: powers of 1000; KiB, MiB, GiB: of 1024;\n"
	       "                      default 512M)\n"
	       "      --zstd[=LEVEL]  compress each chunk with zstd (level 1-19, default %d);\n"
	       "                      compressed chunks are no longer gguf-split shards\n"
	       "      --verify        check every chunk of DIR against its manifest\n"
	       "      --join          write the original model (-o OUT) from the chunks of DIR\n"
	       "  -q, --quiet         no messages but errors\n"
	       "  -v, --verbose       one line per chunk written\n"
	       "  -h, --help          this help\n"
	       "  -V, --version       print the version\n\n"
	       "Exit status: 0 success, 1 runtime failure (a bad or missing chunk), 2 usage error.\n",
	       usage, DEFAULT_LEVEL);
	sl_close_stdout();
	exit(0);
}

/* SIZE with an optional decimal or binary suffix; a usage error otherwise. */
static unsigned long long parse_size(const char *arg)
{
	static const struct { const char *s; unsigned long long mul; } suf[] = {
		{ "", 1 }, { "B", 1 }, { "K", 1000 }, { "M", 1000000 }, { "G", 1000000000 },
		{ "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	for (size_t i = 0; !errno && end != arg && v > 0 && i < sizeof suf / sizeof suf[0]; i++)
		if (strcasecmp(end, suf[i].s) == 0 && v * suf[i].mul < 1e18)
			return (unsigned long long)(v * suf[i].mul);
	sl_usage_error(usage, "--size: '%s' is not a size (e.g. 512M, 1.5G, 256MiB)", arg);
}

static void human(unsigned long long n, char *buf, size_t len)
{
	if (n >= 1000000000)
		snprintf(buf, len, "%.2f GB", n / 1e9);
	else if (n >= 1000000)
		snprintf(buf, len, "%.1f MB", n / 1e6);
	else
		snprintf(buf, len, "%.1f kB", n / 1e3);
}

static int verify(const char *dir, int quiet)
{
	sl_manifest m;
	int bad = 0;

	if (sl_manifest_read(&m, dir))
		sl_die_lib();
	for (int i = 0; i < m.n_c; i++) {
		if (sl_chunk_verify(&m, i)) {
			sl_warn("%s", sl_error());
			bad++;
		} else if (!quiet) {
			printf("%s: OK\n", m.c[i].path);
		}
	}
	if (bad)
		sl_die("%s: %d of %d chunks bad", m.dir, bad, m.n_c);
	sl_manifest_free(&m);
	sl_close_stdout();
	return 0;
}

static int join(const char *dir, const char *out)
{
	sl_manifest m;
	FILE *f;

	if (sl_manifest_read(&m, dir))
		sl_die_lib();
	f = sl_out_open(out);
	if (sl_chunk_join(&m, f))
		sl_die("%s: %s", out, sl_error());
	sl_out_commit();
	sl_manifest_free(&m);
	return 0;
}

/* The default directory: MODEL without ".gguf", or MODEL.chunks. */
static char *default_dir(const char *model)
{
	size_t n = strlen(model);
	char *d = malloc(n + 8);

	if (!d)
		sl_die("out of memory");
	if (n > 5 && strcmp(model + n - 5, ".gguf") == 0)
		snprintf(d, n + 8, "%.*s", (int)(n - 5), model);
	else
		snprintf(d, n + 8, "%s.chunks", model);
	return d;
}

static int chunk(const char *model, char *dir, int layers, unsigned long long size, int codec,
		 int level, int verbose)
{
	sl_gguf src;
	sl_manifest m, old = { 0 };
	const char **old_names = NULL, *stem;
	char name[256], what[64], a[32], b[32];
	int progress = verbose >= 0 && isatty(2);
	size_t n = strlen(dir);
	FILE *f;

	while (n > 1 && dir[n - 1] == '/')  /* "out/" is "out", whose name the chunks take */
		dir[--n] = '\0';
	stem = strrchr(dir, '/');

	if (sl_manifest_is(model))
		sl_die("%s: a chunk directory, not a GGUF file (sl-chunk --join it first)", model);
	if (sl_gguf_open(&src, model))
		sl_die_lib();
	/* Replace only a chunk directory, and of it only its chunks and manifest. */
	if (!sl_manifest_is(dir) && access(dir, F_OK) == 0)
		sl_die("%s: exists and is not a chunk directory (no %s)", dir, SL_MANIFEST_NAME);
	if (sl_manifest_is(dir)) {
		if (sl_manifest_read(&old, dir))
			sl_die("%s: exists, and %s (remove it, or choose another -o)", dir, sl_error());
		if (!(old_names = calloc((size_t)old.n_c + 2, sizeof *old_names)))
			sl_die("out of memory");
		for (int i = 0; i < old.n_c; i++)
			old_names[i] = old.c[i].file;
		old_names[old.n_c] = SL_MANIFEST_NAME;
	}
	/* Chunks are named after the directory: DIR/NAME-00001-of-0000M.gguf. */
	snprintf(name, sizeof name, "%s", stem && stem[1] ? stem + 1 : dir);
	if (sl_chunk_plan(&m, &src, model, name, layers, size, codec, level))
		sl_die_lib();
	sl_outdir_open(dir);
	for (int i = 0; i < m.n_c; i++) {
		if (progress)
			fprintf(stderr, "\rsl-chunk: chunk %d of %d (%s)\033[K", i + 1, m.n_c,
				sl_manifest_what(&m.c[i], what, sizeof what));
		f = sl_outdir_file(m.c[i].file);
		if (sl_chunk_write(&m, i, &src, f))
			sl_die("%s: %s", dir, sl_error());
		sl_outdir_close(f, m.c[i].file);
		if (progress && verbose > 0)
			fputs("\r\033[K", stderr);
		if (verbose > 0) {
			human(m.c[i].size, a, sizeof a);
			human(m.c[i].stored_size, b, sizeof b);
			sl_warn("%s/%s: %s, %d tensors, %s%s%s", dir, m.c[i].file,
				sl_manifest_what(&m.c[i], what, sizeof what), m.c[i].n_t, a,
				codec ? ", stored in " : "", codec ? b : "");
		}
	}
	if (progress)
		fputs("\r\033[K", stderr);
	f = sl_outdir_file(SL_MANIFEST_NAME);
	if (sl_manifest_write(&m, f))
		sl_die("%s/%s: %s", dir, SL_MANIFEST_NAME, sl_error());
	sl_outdir_close(f, SL_MANIFEST_NAME);
	sl_outdir_commit(old_names);
	if (verbose >= 0) {
		unsigned long long stored = 0;
		for (int i = 0; i < m.n_c; i++)
			stored += m.c[i].stored_size;
		human(stored, a, sizeof a);
		sl_warn("%s: core + %d layer chunk%s (%u layers), %s", dir, m.n_c - 1, m.n_c == 2 ? "" : "s",
			m.n_layers, a);
	}
	sl_manifest_free(&m);
	sl_manifest_free(&old);
	free(old_names);
	sl_gguf_close(&src);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_ZSTD = 256, OPT_VERIFY, OPT_JOIN };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "layers", required_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "zstd", optional_argument, NULL, OPT_ZSTD },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "join", no_argument, NULL, OPT_JOIN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *out = NULL;
	unsigned long long size = 0;
	int layers = 0, codec = SL_CODEC_NONE, level = DEFAULT_LEVEL, verbose = 0, mode = 0, c;

	sl_cli_init("sl-chunk");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:l:s:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'l': layers = (int)sl_opt_int(usage, "--layers", optarg, 1, 65535); break;
		case 's': size = parse_size(optarg); break;
		case OPT_ZSTD:
			codec = SL_CODEC_ZSTD;
			if (optarg)
				level = (int)sl_opt_int(usage, "--zstd", optarg, 1, 19);
			break;
		case OPT_VERIFY: case OPT_JOIN:
			if (mode && mode != c)
				sl_usage_error(usage, "--verify and --join cannot be combined");
			mode = c;
			break;
		case 'q': verbose = -1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); break;
		case 'V': sl_version(); break;
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (argc - optind != 1)
		sl_usage_error(usage, argc == optind ? "no %s given" : "one %s only",
			       mode ? "chunk directory" : "model");
	if (layers && size)
		sl_usage_error(usage, "--layers and --size cannot be combined");
	if (mode && (layers || size || codec))
		sl_usage_error(usage, "--layers, --size and --zstd are for cutting a model, not with %s",
			       mode == OPT_VERIFY ? "--verify" : "--join");
	if (mode == OPT_VERIFY && out)
		sl_usage_error(usage, "--verify writes nothing: no -o");
	if (mode == OPT_VERIFY)
		return verify(argv[optind], verbose < 0);
	if (mode == OPT_JOIN && !out)
		sl_usage_error(usage, "--join needs -o OUT.gguf");
	if (mode == OPT_JOIN)
		return join(argv[optind], out);
	return chunk(argv[optind], out ? out : default_dir(argv[optind]), layers,
		     layers ? 0 : size ? size : DEFAULT_SIZE, codec, level, verbose);
}
