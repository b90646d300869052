/*
 * hv_sink: where instrumented code (the reference model, the simulator) sends events.
 *
 * The model calls trace_<event>() helpers that end in sink->emit(); sinks are the store
 * (db/) and the perf.data writer. An event is a known event id (HV_EV_*), the time in ns, the
 * CPU and task that record it, and its field values in definition order.
 */
#ifndef HV_SINK_H
#define HV_SINK_H

#include <stdint.h>

#include "hv_event_def.h"

struct hv_sink {
	void *ctx;
	/* Returns 0, or a negative HV_E_* code that stops the producer. */
	int (*emit)(void *ctx, int hv_event_id, uint64_t ts, int32_t cpu, int32_t pid,
		    const struct hv_value *vals);
};

#endif
