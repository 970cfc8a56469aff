/*
 * sl_cli — diagnostics, option parsing helpers, atomic output and the default model (sl_cli.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_cli.h"

static const char *progname = "sl";
static int stdout_closed, failing;

/*
 * At exit, stdout is flushed and closed and an error reported, so that a program that
 * exits with 0 without sl_close_stdout (--help) still fails when its output is lost
 * ("sl-tok --help > /dev/full").  Not after sl_die: that exit already says why.
 */
static void close_stdout_at_exit(void)
{
	if (stdout_closed || failing)
		return;
	stdout_closed = 1;
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno != EPIPE)
			fprintf(stderr, "%s: stdout: %s\n", progname, strerror(errno ? errno : EIO));
		_exit(SL_EXIT_FAIL);
	}
}

void sl_cli_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	progname = slash ? slash + 1 : name;
	atexit(close_stdout_at_exit);
	/* A reader that went away ends the program at its next write, silently (status 141),
	 * even if the caller ignored SIGPIPE (trap '' PIPE): never a "Broken pipe" message. */
	signal(SIGPIPE, SIG_DFL);
}

const char *sl_progname(void)
{
	return progname;
}

static void vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	sl_progress_clear();
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void sl_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	failing = 1;
	exit(SL_EXIT_FAIL);
}

void sl_die_lib(void)
{
	sl_die("%s", sl_error());
}

void sl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void sl_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\nTry '%s --help' for more information.\n", usage, progname);
	failing = 1;
	exit(SL_EXIT_USAGE);
}

void sl_bad_option(const char *usage, int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	int is_long = strncmp(arg, "--", 2) == 0;

	if (c == ':') {
		if (is_long)
			sl_usage_error(usage, "option '%.*s' requires an argument", (int)strcspn(arg, "="), arg);
		sl_usage_error(usage, "option requires an argument -- '%c'", optopt);
	}
	if (is_long || optopt == 0)
		sl_usage_error(usage, "unrecognized option '%s'", arg);
	sl_usage_error(usage, "invalid option -- '%c'", optopt);
}

void sl_version(void)
{
	printf("%s %s\n", progname, SL_VERSION);
	sl_close_stdout();
	exit(SL_EXIT_OK);
}

void sl_close_stdout(void)
{
	stdout_closed = 1;
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		failing = 1;
		if (errno == EPIPE)
			exit(SL_EXIT_FAIL);
		sl_die("stdout: %s", strerror(errno));
	}
}

long long sl_opt_int(const char *usage, const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end != '\0')
		sl_usage_error(usage, "%s: '%s' is not an integer", opt, arg);
	if (v < min || v > max)
		sl_usage_error(usage, "%s: %s is out of range [%lld, %lld]", opt, arg, min, max);
	return v;
}

double sl_opt_double(const char *usage, const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end != '\0' || isnan(v))
		sl_usage_error(usage, "%s: '%s' is not a number", opt, arg);
	if (v < min || v > max)
		sl_usage_error(usage, "%s: %s is out of range [%g, %g]", opt, arg, min, max);
	return v;
}

/* ==== atomic output ==== */

static char out_tmp[PATH_MAX + 16];
static char out_final[PATH_MAX];
static FILE *out_fp;

static void out_cleanup(void)
{
	if (out_tmp[0])
		unlink(out_tmp);
	out_tmp[0] = '\0';
}

/* The output directory (sl_outdir_*): its path and the files made in it so far. */
static char od_tmp[PATH_MAX + 16];
static char od_final[PATH_MAX];
static char **od_files;
static volatile sig_atomic_t od_n;
static int od_cap;

static void od_cleanup(void)
{
	for (int i = 0; i < od_n; i++)
		unlink(od_files[i]); /* async-signal-safe */
	if (od_tmp[0])
		rmdir(od_tmp);
	od_tmp[0] = '\0';
	od_n = 0;
}

/* Outputs written in place (sl_out_remove_on_failure). */
#define N_FAIL_PATHS 4
static char fail_paths[N_FAIL_PATHS][PATH_MAX];
static volatile sig_atomic_t n_fail_paths;

static void fail_cleanup(void)
{
	for (int i = 0; i < n_fail_paths; i++)
		unlink(fail_paths[i]); /* async-signal-safe */
	n_fail_paths = 0;
}

static void out_signal(int sig)
{
	if (out_tmp[0])
		unlink(out_tmp); /* async-signal-safe */
	od_cleanup();
	fail_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * A mapped input that shrinks under the mapping (truncated, or rewritten in place) makes the
 * next read of a page past its new end a SIGBUS.  The message is made beforehand, so the
 * handler only unlinks, writes and exits (all async-signal-safe).
 */
static char bus_msg[PATH_MAX + 128];
static size_t bus_len;

static void bus_signal(int sig)
{
	(void)sig;
	if (out_tmp[0])
		unlink(out_tmp);
	od_cleanup();
	fail_cleanup();
	if (write(2, bus_msg, bus_len) < 0) {
		/* nothing more can be done */
	}
	_exit(SL_EXIT_FAIL);
}

void sl_cli_on_sigbus(const char *path)
{
	struct sigaction sa;
	int n = snprintf(bus_msg, sizeof bus_msg, "%s: %s: the file changed or was truncated while in use\n",
			 sl_progname(), path);

	bus_len = n < 0 ? 0 : (size_t)n < sizeof bus_msg ? (size_t)n : sizeof bus_msg - 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bus_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

static void cleanup_all(void)
{
	out_cleanup();
	od_cleanup();
	if (failing)
		fail_cleanup();
}

static void register_cleanup(void)
{
	static int registered;

	if (registered)
		return;
	atexit(cleanup_all);
	signal(SIGINT, out_signal);
	signal(SIGTERM, out_signal);
	signal(SIGHUP, out_signal);
	registered = 1;
}

void sl_out_remove_on_failure(const char *path)
{
	struct stat st;

	if (n_fail_paths >= N_FAIL_PATHS || strlen(path) >= PATH_MAX || lstat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return;
	register_cleanup();
	memcpy(fail_paths[n_fail_paths], path, strlen(path) + 1);
	n_fail_paths++; /* after the copy: a signal sees only whole paths */
}

FILE *sl_out_open(const char *path)
{
	int fd;

	if (strlen(path) >= PATH_MAX)
		sl_die("%s: path too long", path);
	snprintf(out_final, sizeof out_final, "%s", path);
	snprintf(out_tmp, sizeof out_tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(out_tmp);
	if (fd < 0) {
		out_tmp[0] = '\0';
		sl_die("%s: %s", path, strerror(errno));
	}
	fchmod(fd, 0644);
	register_cleanup();
	out_fp = fdopen(fd, "wb");
	if (!out_fp)
		sl_die("%s: %s", path, strerror(errno));
	return out_fp;
}

void sl_out_commit(void)
{
	if (!out_fp)
		return;
	if (fflush(out_fp) != 0 || fsync(fileno(out_fp)) != 0) {
		int e = errno;
		fclose(out_fp);
		out_fp = NULL;
		sl_die("%s: %s", out_final, strerror(e));
	}
	if (fclose(out_fp) != 0) {
		out_fp = NULL;
		sl_die("%s: %s", out_final, strerror(errno));
	}
	out_fp = NULL;
	if (rename(out_tmp, out_final) != 0)
		sl_die("%s: %s", out_final, strerror(errno));
	out_tmp[0] = '\0';
}

void sl_out_abort(void)
{
	if (out_fp)
		fclose(out_fp);
	out_fp = NULL;
	out_cleanup();
}

/* ==== atomic output directory ==== */

const char *sl_outdir_open(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= PATH_MAX)
		sl_die("%s: path too long", dir);
	snprintf(od_final, sizeof od_final, "%.*s", (int)n, dir);
	snprintf(od_tmp, sizeof od_tmp, "%s.tmp.XXXXXX", od_final);
	register_cleanup();
	if (!mkdtemp(od_tmp)) {
		od_tmp[0] = '\0';
		sl_die("%s: %s", od_final, strerror(errno));
	}
	return od_tmp;
}

FILE *sl_outdir_file(const char *name)
{
	size_t len = strlen(od_tmp) + strlen(name) + 2;
	char *p = malloc(len);
	sigset_t all, old;
	FILE *f;
	int fd;

	if (!p)
		sl_die("out of memory");
	snprintf(p, len, "%s/%s", od_tmp, name);
	/* Grow the list with signals held, so the handler never sees it half updated. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if (od_n == od_cap) {
		char **nf = realloc(od_files, (od_cap ? 2 * od_cap : 16) * sizeof *nf);
		if (!nf)
			sl_die("out of memory");
		od_files = nf;
		od_cap = od_cap ? 2 * od_cap : 16;
	}
	od_files[od_n] = p;
	od_n++;
	sigprocmask(SIG_SETMASK, &old, NULL);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || !(f = fdopen(fd, "wb")))
		sl_die("%s: %s", p, strerror(errno));
	return f;
}

void sl_outdir_close(FILE *f, const char *name)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		fclose(f);
		sl_die("%s/%s: %s", od_final, name, strerror(e));
	}
	if (fclose(f) != 0)
		sl_die("%s/%s: %s", od_final, name, strerror(errno));
}

/* Remove the named files of a directory we swapped out, then the directory if it is empty. */
static void remove_old(const char *dir, const char *const *names)
{
	char p[PATH_MAX + 300];

	for (; names && *names; names++) {
		snprintf(p, sizeof p, "%s/%s", dir, *names);
		unlink(p);
	}
	if (rmdir(dir) != 0)
		sl_warn("%s: %s (what else was in the previous %s is left there)", dir, strerror(errno),
			od_final);
}

void sl_outdir_commit(const char *const *old_names)
{
	struct stat st;
	int fd = open(od_tmp, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) != 0 || fchmod(fd, 0755) != 0)
		sl_die("%s: %s", od_tmp, strerror(errno));
	close(fd);
	if (lstat(od_final, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			sl_die("%s: exists and is not a directory", od_final);
		if (renameat2(AT_FDCWD, od_tmp, AT_FDCWD, od_final, RENAME_EXCHANGE) != 0)
			sl_die("%s: %s", od_final, strerror(errno));
		od_n = 0;
		remove_old(od_tmp, old_names);
	} else if (rename(od_tmp, od_final) != 0) {
		sl_die("%s: %s", od_final, strerror(errno));
	}
	od_n = 0;
	od_tmp[0] = '\0';
}

/* ==== default model ==== */

static int exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

const char *sl_default_model(void)
{
	static char path[PATH_MAX + 64];
	static const char *const rel[] = {
		"../models/stories260K.gguf", "../share/sl/stories260K.gguf",
		"../models/stories260K-hf",
	};
	char exe[PATH_MAX];
	const char *env = getenv("SL_MODEL");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		sl_die("no model given (-m), $SL_MODEL unset, and the program's own path is unknown");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", exe, rel[i]);
		if (exists(path))
			return path;
	}
	sl_die("no model given (-m), $SL_MODEL unset, and no default model in %s/../models or %s/../share/sl",
	       exe, exe);
}
