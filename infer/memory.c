/*
 * memory.c — sl-infer --mem-limit and --profile (sl-infer(1) MEMORY): the budget, the
 * profile's threads, KV cache type and read-ahead, and the plan of what stays in memory.
 */
#include <stdint.h>
#include <string.h>

#include "infer.h"
#include "sl_budget.h"
#include "sl_cli.h"
#include "sl_stream.h"

/*
 * --mem-limit and --profile: the budget, and the profile's threads, KV cache type and
 * read-ahead where the options do not say.  A profile's own budget unless --mem-limit gives
 * one; auto is what sl_mem_available() finds, less 5% (at least 32 MiB) of headroom.
 */
void choose_budget(run *r)
{
	options *o = &r->o;
	const char *src = NULL;
	uint64_t avail = 0;
	const sl_profile *pf = NULL;
	int want_auto = (o->mem_limit && !strcmp(o->mem_limit, "auto")) || (o->profile && !strcmp(o->profile, "auto"));

	r->ring = 2;
	if (!o->mem_limit && !o->profile)
		return;
	if (want_auto) {
		avail = sl_mem_available(&src);
		if (!avail)
			sl_die("auto: cannot tell how much memory this process may use (found %s)", src);
		avail -= avail / 20 > (32u << 20) ? avail / 20 : (32u << 20) < avail ? (32u << 20) : avail / 2;
	}
	if (o->profile)
		pf = strcmp(o->profile, "auto") ? sl_profile_get(o->profile) : sl_profile_for(avail);
	if (o->mem_limit && strcmp(o->mem_limit, "auto"))
		sl_parse_size(o->mem_limit, &r->budget), r->budget_from = "--mem-limit";
	else if (want_auto)
		r->budget = avail, r->budget_from = src;
	else
		r->budget = pf->budget, r->budget_from = "the profile";
	if (pf) {
		int cores = sl_cores();
		if (!o->have_threads)
			o->p.threads = pf->threads < cores ? pf->threads : cores;
		if (!o->have_kv)
			o->p.kv_type = pf->kv_type;
		r->ring = pf->ring;
	}
}


/* Under a budget, decide what stays in memory (after the session: its state counts). */
void plan_budget(run *r)
{
	/* what the process holds besides the weights, the same in every run: the state
	 * (counted whole, though not all of it is touched yet), the program (4 MiB), the
	 * model's metadata twice (the header's pages while parsing, and what was parsed),
	 * and 8 MiB for stacks and reads in flight */
	sl_stream_opts so = { r->budget, sl_session_get_info(r->ss).state_bytes + (4u << 20) +
			      2 * r->m->meta->data_offset + (8u << 20), r->ring, 1 };

	if (sl_stream_plan(r->m->prov, r->m, &so))
		sl_die_lib();
}
