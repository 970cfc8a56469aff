/*
 * options.c — sl-infer's usage, --help (they are the man page's SYNOPSIS and OPTIONS, which
 * the tests compare) and the option parser.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "sl_budget.h"
#include "sl_cli.h"
#include "sl_types.h"

static const char usage[] =
	"usage: sl-infer [-qvV] [-m model] [-n count] [-c context] [-t threads] [--temp T]\n"
	"                [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]\n"
	"                [--echo] [--ignore-eos] [--top N] [--probs file] [--logits file]\n"
	"                [--stats] [--kv-type f16|f32|q8_0] [--mem-limit size|auto]\n"
	"                [--profile low|mid|high|auto] [--score] [--kld-base file] [--kld file]\n"
	"                [--exact] [--no-mmap] [-b batch] [file]";

static const char help[] =
	"Continue a stream of token ids (from sl-tok) with a Llama model; write the new ids.\n"
	"\n"
	"  -m, --model FILE       GGUF model, llama.cpp split files or sl-chunk directory\n"
	       "                         (default: $SL_MODEL, else the embedded stories260K)\n"
	"  -n, --n-predict N      generate at most N ids (default 256)\n"
	"  -c, --ctx N            context size in ids, prompt included (default: the model's)\n"
	"  -t, --threads N        worker threads (default: all cores; output does not depend on it)\n"
	"      --temp T           temperature; 0 is greedy (default 1.0)\n"
	"      --top-k K          keep the K most likely ids (default 0: off)\n"
	"      --top-p P          keep the most likely ids up to probability P (default 0.9)\n"
	"      --min-p P          drop ids less likely than P times the most likely (default 0: off)\n"
	"      --repeat-penalty R penalize ids already in the context (default 1.0: off)\n"
	"      --seed S           random seed (default: from the clock)\n"
	"      --echo             write the prompt ids before the generated ones\n"
	"      --ignore-eos       do not stop at end-of-generation ids\n"
	"      --top N            for each generated id, the N most likely ids and their\n"
	"                         probabilities (softmax of the raw logits), on stderr\n"
	"      --probs FILE       write the --top lines to FILE instead (N defaults to 5)\n"
	"      --logits FILE      write the raw logits of every position (f32 little-endian,\n"
	"                         one row of vocab-size values per position)\n"
	"      --score            score the ids instead of continuing them: for each id after the\n"
	"                         first, 'id<TAB>ln p(id | the ids before)'; on stderr the mean\n"
	"                         negative log-likelihood and the perplexity (see sl-infer(1))\n"
	"      --kld-base FILE    with --score: write what a later --kld compares with (this model\n"
	"                         as the base: its most likely ids at every position, sl-kld(5))\n"
	"      --kld FILE         with --score: compare with the base that wrote FILE: KL\n"
	"                         divergence, same most likely id, perplexity against the base's\n"
	"      --kv-type T        KV cache precision: f16 (default), f32 or q8_0\n"
	"      --mem-limit SIZE   hold at most SIZE bytes (800M, 1.2G; M = MiB, MB = 10^6): the\n"
	"                         layers that do not fit are read again for every id; auto:\n"
	"                         the cgroup's limit, else MemAvailable (see MEMORY in sl-infer(1))\n"
	"      --profile P        low (600 MB), mid (800 MB), high (1200 MB): a budget with its\n"
	"                         threads, KV cache type and read-ahead; auto: from this machine\n"
	"      --exact            multiply with dequantized weights in double precision\n"
	"                         (slow; for testing against the reference)\n"
	"      --no-mmap          read the model into memory instead of mapping it\n"
	"                         (a copy; see NOTES in sl-infer(1))\n"
	"  -b, --batch N          prompt ids per forward pass (default 128)\n"
	"      --stats            load time, model in 2 MiB pages, time to first id, speeds,\n"
	"                         the time of each step of the forward passes, peak RSS, on stderr\n"
	"  -q, --quiet            no warnings\n"
	"  -v, --verbose          describe the model and the run on stderr\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"Exit status: 0 success (also when the context fills up), 1 runtime failure, 2 usage.\n"
	"See sl-infer(1).\n";

enum {
	OPT_TEMP = 256, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_REPEAT, OPT_SEED, OPT_ECHO,
	OPT_IGNORE_EOS, OPT_TOP, OPT_PROBS, OPT_LOGITS, OPT_STATS, OPT_KV_TYPE, OPT_EXACT, OPT_NO_MMAP,
	OPT_MEM_LIMIT, OPT_PROFILE, OPT_SCORE, OPT_KLD_BASE, OPT_KLD,
};

static const struct option longopts[] = {
	{"model", required_argument, NULL, 'm'},
	{"n-predict", required_argument, NULL, 'n'},
	{"ctx", required_argument, NULL, 'c'},
	{"threads", required_argument, NULL, 't'},
	{"batch", required_argument, NULL, 'b'},
	{"temp", required_argument, NULL, OPT_TEMP},
	{"top-k", required_argument, NULL, OPT_TOP_K},
	{"top-p", required_argument, NULL, OPT_TOP_P},
	{"min-p", required_argument, NULL, OPT_MIN_P},
	{"repeat-penalty", required_argument, NULL, OPT_REPEAT},
	{"seed", required_argument, NULL, OPT_SEED},
	{"echo", no_argument, NULL, OPT_ECHO},
	{"ignore-eos", no_argument, NULL, OPT_IGNORE_EOS},
	{"top", required_argument, NULL, OPT_TOP},
	{"probs", required_argument, NULL, OPT_PROBS},
	{"logits", required_argument, NULL, OPT_LOGITS},
	{"kv-type", required_argument, NULL, OPT_KV_TYPE},
	{"exact", no_argument, NULL, OPT_EXACT},
	{"no-mmap", no_argument, NULL, OPT_NO_MMAP},
	{"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},
	{"profile", required_argument, NULL, OPT_PROFILE},
	{"score", no_argument, NULL, OPT_SCORE},
	{"kld-base", required_argument, NULL, OPT_KLD_BASE},
	{"kld", required_argument, NULL, OPT_KLD},
	{"stats", no_argument, NULL, OPT_STATS},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

void parse_options(options *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof *o);
	o->p = sl_session_defaults();
	o->top = -1;
	opterr = 0; /* sl_bad_option says it, with our program name */
	while ((c = getopt_long(argc, argv, ":m:n:c:t:b:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model_path = optarg; break;
		case 'n': o->p.n_predict = sl_opt_int(usage, "-n", optarg, 0, 1LL << 31); break;
		case 'c': o->ctx = sl_opt_int(usage, "-c", optarg, 1, 1 << 24); break;
		case 't': o->have_threads = 1; o->p.threads = (int)sl_opt_int(usage, "-t", optarg, 0, 1024); break;
		case 'b': o->have_batch = 1; o->p.n_batch = (int)sl_opt_int(usage, "-b", optarg, 1, 4096); break;
		case OPT_TEMP: o->p.sp.temp = (float)sl_opt_double(usage, "--temp", optarg, 0, 1e6); break;
		case OPT_TOP_K: o->p.sp.top_k = (int)sl_opt_int(usage, "--top-k", optarg, 0, 1 << 30); break;
		case OPT_TOP_P: o->p.sp.top_p = (float)sl_opt_double(usage, "--top-p", optarg, 1e-9, 1); break;
		case OPT_MIN_P: o->p.sp.min_p = (float)sl_opt_double(usage, "--min-p", optarg, 0, 1); break;
		case OPT_REPEAT:
			o->p.sp.repeat_penalty = (float)sl_opt_double(usage, "--repeat-penalty", optarg, 1e-6, 1e6);
			break;
		case OPT_SEED:
			o->p.seed = (uint64_t)sl_opt_int(usage, "--seed", optarg, 0, INT64_MAX);
			o->have_seed = 1;
			break;
		case OPT_ECHO: o->echo = 1; break;
		case OPT_IGNORE_EOS: o->p.ignore_eos = 1; break;
		case OPT_TOP: o->top = sl_opt_int(usage, "--top", optarg, 1, 1 << 20); break;
		case OPT_PROBS: o->probs_path = optarg; break;
		case OPT_LOGITS: o->logits_path = optarg; break;
		case OPT_KV_TYPE:
			o->have_kv = 1;
			if (strcmp(optarg, "f16") == 0)
				o->p.kv_type = SL_F16;
			else if (strcmp(optarg, "f32") == 0)
				o->p.kv_type = SL_F32;
			else if (strcmp(optarg, "q8_0") == 0)
				o->p.kv_type = SL_Q8_0;
			else
				sl_usage_error(usage, "--kv-type: '%s' is not f16, f32 or q8_0", optarg);
			break;
		case OPT_MEM_LIMIT:
			if (strcmp(optarg, "auto") != 0 && sl_parse_size(optarg, &(uint64_t){0}))
				sl_usage_error(usage, "--mem-limit: '%s' is not a size (like 800M or 1.2G) or auto", optarg);
			o->mem_limit = optarg;
			break;
		case OPT_SCORE: o->score = 1; break;
		case OPT_KLD_BASE: o->kld_base = optarg; break;
		case OPT_KLD: o->kld = optarg; break;
		case OPT_PROFILE:
			if (strcmp(optarg, "auto") != 0 && !sl_profile_get(optarg))
				sl_usage_error(usage, "--profile: '%s' is not low, mid, high or auto", optarg);
			o->profile = optarg;
			break;
		case OPT_STATS: o->stats = 1; break;
		case OPT_EXACT: o->p.exact = 1; break;
		case OPT_NO_MMAP: o->no_mmap = 1; break;
		case 'q': o->quiet = 1; o->verbose = 0; break;
		case 'v': o->verbose = 1; o->quiet = 0; break;
		case 'h':
			printf("%s\n\n%s", usage, help);
			sl_close_stdout();
			exit(SL_EXIT_OK);
		case 'V': sl_version();
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (argc - optind > 1)
		sl_usage_error(usage, "too many arguments");
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0)
		o->in_path = argv[optind];
	if (o->probs_path && o->top < 0)
		o->top = 5;
	if ((o->kld_base || o->kld) && !o->score)
		sl_usage_error(usage, "--kld-base and --kld go with --score");
	if (o->score && (o->top > 0 || o->logits_path || o->echo))
		sl_usage_error(usage, "--score does not go with --top, --probs, --logits or --echo");
}

