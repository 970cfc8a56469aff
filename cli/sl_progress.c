/*
 * sl_progress — the progress line of long work on a terminal (sl_cli.h).
 *
 * Drawn with a carriage return and padded with spaces to the length of the line before, so
 * it needs no terminal escape sequences; redrawn at most every 0.1 s, because a terminal
 * that scrolls a line per update would slow the work down and hide the messages.
 */
#include <stdio.h>
#include <unistd.h>

#include "sl_cli.h"
#include "sl_sys.h"

#define REDRAW_S 0.1
#define MIB (1024.0 * 1024.0)

static struct {
	int on;
	const char *item;
	uint64_t n_items, n_bytes;
	double t0, last;
	int width;       /* characters of the line now on the terminal, 0 if none */
} P;

void sl_progress_start(const char *item, uint64_t total_items, uint64_t total_bytes)
{
	P.on = isatty(STDERR_FILENO);
	P.item = item;
	P.n_items = total_items;
	P.n_bytes = total_bytes;
	P.t0 = sl_time_now();
	P.last = -1;
	P.width = 0;
}

void sl_progress_update(uint64_t item, uint64_t bytes)
{
	char line[200];
	double now, dt;
	int n;

	if (!P.on)
		return;
	now = sl_time_now();
	if (P.last >= 0 && now - P.last < REDRAW_S && bytes < P.n_bytes)
		return;
	P.last = now;
	dt = now - P.t0;
	n = snprintf(line, sizeof line, "%s: %s %llu of %llu, %.1f of %.1f MiB", sl_progname(), P.item,
		     (unsigned long long)item, (unsigned long long)P.n_items, bytes / MIB, P.n_bytes / MIB);
	if (n < 0 || n >= (int)sizeof line)
		return;
	if (dt > 0 && n < (int)sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, ", %.1f MB/s", bytes / dt / 1e6);
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	fprintf(stderr, "\r%s%*s", line, P.width > n ? P.width - n : 0, "");
	fflush(stderr);
	P.width = n;
}

void sl_progress_clear(void)
{
	if (!P.on || !P.width)
		return;
	fprintf(stderr, "\r%*s\r", P.width, "");
	fflush(stderr);
	P.width = 0;
	P.last = -1; /* the next update draws again at once */
}

void sl_progress_end(void)
{
	sl_progress_clear();
	P.on = 0;
}
