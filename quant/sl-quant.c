/*
 * sl-quant — convert a Hugging Face Llama model (safetensors) or a GGUF file into one
 * self-contained GGUF v3 model file, quantized, that llama.cpp and sl-infer both load.
 *
 * The first tool of the pipeline: HF dir ──► sl-quant ──► model.gguf ──► sl-infer.
 * The conversion is lib/sl_convert.h; this file is the options, the messages, and the output
 * file: a temporary file renamed on success (sl_out_open), so a failure never leaves a
 * partial model behind.  --info describes a model (GGUF or HF) instead (info.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_cli.h"
#include "sl_convert.h"
#include "sl_gguf.h"
#include "sl_hf.h"
#include "sl_types.h"

#include "info.h"

static const char usage[] =
	"usage: sl-quant [-qv] [--stats] [-j threads] [-t type] [-o out] model\n"
	"       sl-quant --info model";

static struct {
	int quiet, verbose, stats;
	const char *in, *out;
	int is_hf;
	sl_hf hf;
	sl_gguf g;
} S;

static const char *type_name(uint32_t t)
{
	const sl_type_info *ti = sl_type_get(t);

	return ti ? ti->name : "?";
}

/* ==== what the conversion reports ==== */

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	sl_warn("%s", msg);
}

static void on_progress(void *ctx, const sl_convert *c, int i, uint64_t done)
{
	(void)ctx;
	(void)c;
	sl_progress_update((uint64_t)i + 1, done);
}

static void print_stats(const char *name, const char *type, const sl_qstats *st)
{
	sl_progress_clear();
	fprintf(stderr, "%-28s %-6s %12.4g %12.4g %9.4f%%\n", name, type, sl_qstats_rmse(st), st->max_abs_err,
		100.0 * sl_qstats_rel(st));
}

static void on_tensor(void *ctx, const sl_convert *c, int i)
{
	const sl_conv_tensor *j = &c->t[i];

	(void)ctx;
	if (S.verbose) {
		sl_progress_clear();
		fprintf(stderr, "sl-quant: %-28s %6llu x %-6llu -> %-5s %10llu bytes\n", j->name,
			(unsigned long long)j->ne[0], (unsigned long long)j->rows, type_name(j->type),
			(unsigned long long)j->nbytes);
	}
	if (S.stats)
		print_stats(j->name, type_name(j->type), &j->st);
}

static void convert(sl_convert *c)
{
	FILE *f;

	c->ctx = NULL;
	c->warn = S.quiet ? NULL : on_warn;
	c->progress = S.quiet ? NULL : on_progress;
	c->tensor_done = on_tensor;
	if (sl_convert_plan(c))
		sl_die_lib();
	f = sl_out_open(S.out);
	if (!S.quiet)
		sl_progress_start("tensor", (uint64_t)c->n, c->total);
	if (S.stats)
		fprintf(stderr, "%-28s %-6s %12s %12s %10s\n", "tensor", "type", "rmse", "max_abs_err", "rel_err");
	if (sl_convert_write(c, f))
		sl_die_lib();
	sl_progress_end();
	sl_out_commit();
	if (S.stats)
		print_stats("(all)", c->rc->name, &c->all);
	if (!S.quiet)
		fprintf(stderr, "sl-quant: %s: %s, %d tensors, %llu parameters, %.1f MiB of weights, %.2f bits per weight\n",
			S.out, c->rc->name, c->n, (unsigned long long)c->params, c->bytes / 1048576.0,
			c->params ? 8.0 * c->bytes / c->params : 0.0);
}

_Noreturn static void usage_help(void)
{
	printf("%s\n\n"
	       "Convert a Hugging Face Llama model (directory with config.json, tokenizer.json and\n"
	       "safetensors, single or sharded) or an F32/F16/BF16 GGUF file into one GGUF v3 file.\n\n"
	       "  -t, --type TYPE   f32, f16, bf16, q8_0 (default), q4_0, q4_k, q6_k, q3_k, q2_k,\n"
	       "                    or a mix of llama.cpp's: q4_k_m, q3_k_m, q2_k_m (its Q2_K);\n"
	       "                    q4_k_m_e3 is q4_k_m with token_embd/output in Q3_K\n"
	       "  -o, --output OUT  output file (default: DIR/model-TYPE.gguf, or NAME-TYPE.gguf\n"
	       "                    beside a GGUF input)\n"
	       "      --info        describe MODEL (GGUF or HF directory) on stdout and exit\n"
	       "      --stats       print each tensor's quantization error on stderr\n"
	       "  -j, --threads N   quantize with N threads (default: every core; same output)\n"
	       "  -q, --quiet       no messages but errors\n"
	       "  -v, --verbose     one line per tensor written\n"
	       "  -h, --help        this help\n"
	       "  -V, --version     print the version\n", usage);
	sl_close_stdout();
	exit(0);
}

/* ==== main ==== */

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"type", required_argument, NULL, 't'}, {"output", required_argument, NULL, 'o'},
		{"threads", required_argument, NULL, 'j'},
		{"info", no_argument, NULL, 'I'}, {"stats", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	const char *tname = "q8_0";
	int c, info = 0;
	struct stat sb, so;
	sl_convert cv = {0};

	sl_cli_init(argv[0]);
	opterr = 0; /* sl_bad_option says it, with our program name */
	while ((c = getopt_long(argc, argv, ":t:o:j:qvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 't': tname = optarg; break;
		case 'o': S.out = optarg; break;
		case 'j': cv.threads = (int)sl_opt_int(usage, "-j", optarg, 0, 1024); break;
		case 'I': info = 1; break;
		case 'S': S.stats = 1; break;
		case 'q': S.quiet = 1; S.verbose = 0; break;
		case 'v': S.verbose = 1; S.quiet = 0; break;
		case 'h': usage_help(); break;
		case 'V': sl_version(); break;
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (optind != argc - 1)
		sl_usage_error(usage, optind < argc ? "one model at a time" : "no model given");
	S.in = argv[optind];
	if (!(cv.rc = sl_recipe_find(tname)))
		sl_usage_error(usage, "unknown type '%s' (" SL_RECIPE_NAMES ")", tname);
	if (info && (S.out || S.stats))
		sl_usage_error(usage, "--info takes no -o or --stats");

	if (stat(S.in, &sb) != 0)
		sl_die("%s: %s", S.in, strerror(errno));
	S.is_hf = S_ISDIR(sb.st_mode);
	if (S.is_hf) {
		if (!sl_hf_is_dir(S.in))
			sl_die("%s: not a Hugging Face model directory (no config.json)", S.in);
		if (sl_hf_open(&S.hf, S.in))
			sl_die_lib();
	} else if (sl_gguf_open(&S.g, S.in)) {
		sl_die_lib();
	}
	if (info) {
		if (S.is_hf)
			info_hf(S.in, &S.hf);
		else
			info_gguf(S.in, &S.g);
		sl_close_stdout();
		return 0;
	}
	if (S.is_hf ? sl_convert_from_hf(&cv, &S.hf, S.in) : sl_convert_from_gguf(&cv, &S.g, S.in))
		sl_die_lib();
	if (!S.out && !(S.out = sl_convert_out_name(S.in, S.is_hf, cv.rc)))
		sl_die_lib();
	if (stat(S.out, &so) == 0 && so.st_dev == sb.st_dev && so.st_ino == sb.st_ino)
		sl_die("%s: output would overwrite the input", S.out);
	cv.out = S.out;
	cv.stats = S.stats;
	convert(&cv);
	sl_convert_free(&cv);
	if (S.is_hf)
		sl_hf_close(&S.hf);
	else
		sl_gguf_close(&S.g);
	return 0;
}
