/*
 * Lookups over the generated event and symbol tables (build/gen/hv_events.c).
 */
#include <string.h>

#include "hv_events.h"

const char *hv_sym_name(const struct hv_symtab *t, int64_t v)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->syms[i].value == v)
			return t->syms[i].name;
	return NULL;
}

const struct hv_event_def *hv_event_find(const char *system, const char *name)
{
	for (int i = 0; i < HV_EV_COUNT; i++)
		if (strcmp(hv_events[i].name, name) == 0 &&
		    (!system || strcmp(hv_events[i].system, system) == 0))
			return &hv_events[i];
	return NULL;
}

int hv_event_index(const struct hv_event_def *def)
{
	if (def < hv_events || def >= hv_events + HV_EV_COUNT)
		return -1;
	return (int)(def - hv_events);
}

const char *hv_trap_name(int64_t trap)
{
	const char *n = hv_sym_name(&hv_sym_traps, trap);
	return n ? n : hv_sym_name(&hv_sym_traps_extra, trap);
}

const char *hv_hcall_name(int64_t req)
{
	return hv_sym_name(&hv_sym_hcalls, req);
}
