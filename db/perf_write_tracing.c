/*
 * The HEADER_TRACING_DATA section of a perf.data file written by hvtrace: what libtraceevent
 * (inside perf) needs to decode the tracepoint payloads of the samples. Layout (the
 * "tracing data" format, version 0.6; see shared/spec/perf-data.md §2): magic, version, the
 * byte-order flag, long size and page size, the ring-buffer header_page and header_event
 * descriptions, no ftrace formats, the event format texts grouped by system (hvtrace's
 * generated formats, the same text as build/formats/), empty kallsyms and printk formats, and
 * the saved cmdlines ("pid comm" lines) from the tasks the writer was told about.
 *
 * The header_page/header_event texts describe the kernel ring buffer of a 64-bit host with
 * 64 KiB pages, as a ppc64 kernel reports them in tracefs.
 */
#include <stdio.h>
#include <string.h>

#include "hv_events.h"
#include "perf_write_int.h"

#define PPC64_PAGE_SIZE 65536u

static const char header_page[] =
	"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
	"\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
	"\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
	"\tfield: char data;\toffset:16;\tsize:65520;\tsigned:0;\n";

static const char header_event[] =
	"# compressed entry header\n"
	"\ttype_len    :    5 bits\n"
	"\ttime_delta  :   27 bits\n"
	"\tarray       :   32 bits\n"
	"\n"
	"\tpadding     : type == 29\n"
	"\ttime_extend : type == 30\n"
	"\ttime_stamp : type == 31\n"
	"\tdata max type_len  == 28\n";

static void named_text(struct hv_pbuf *b, const char *name, const char *text)
{
	hv_pbuf_bytes(b, name, strlen(name) + 1);
	hv_pbuf_u64(b, strlen(text));
	hv_pbuf_bytes(b, text, strlen(text));
}

/* Systems in order of first appearance among the chosen events, each with its events. */
static void event_formats(struct hv_pbuf *b, const int *ev, int nev)
{
	const char *systems[HV_EV_COUNT];
	int nsys = 0;
	for (int i = 0; i < nev; i++) {
		const char *s = hv_events[ev[i]].system;
		int seen = 0;
		for (int k = 0; k < nsys; k++)
			seen |= strcmp(systems[k], s) == 0;
		if (!seen)
			systems[nsys++] = s;
	}
	hv_pbuf_u32(b, (uint32_t)nsys);
	for (int k = 0; k < nsys; k++) {
		uint32_t count = 0;
		for (int i = 0; i < nev; i++)
			count += strcmp(hv_events[ev[i]].system, systems[k]) == 0;
		hv_pbuf_bytes(b, systems[k], strlen(systems[k]) + 1);
		hv_pbuf_u32(b, count);
		for (int i = 0; i < nev; i++) {
			const struct hv_event_def *d = &hv_events[ev[i]];
			if (strcmp(d->system, systems[k]) != 0)
				continue;
			hv_pbuf_u64(b, strlen(d->format));
			hv_pbuf_bytes(b, d->format, strlen(d->format));
		}
	}
}

static void saved_cmdlines(struct hv_pbuf *b, const struct hv_perfw_task *tasks, int ntasks)
{
	size_t len = 0;
	char line[64];
	for (int i = 0; i < ntasks; i++)
		len += (size_t)snprintf(line, sizeof line, "%d %s\n", (int)tasks[i].tid, tasks[i].comm);
	hv_pbuf_u64(b, len);
	for (int i = 0; i < ntasks; i++) {
		int n = snprintf(line, sizeof line, "%d %s\n", (int)tasks[i].tid, tasks[i].comm);
		hv_pbuf_bytes(b, line, (size_t)n);
	}
}

void hv_perfw_tracing_data(struct hv_pbuf *b, const int *ev, int nev,
			   const struct hv_perfw_task *tasks, int ntasks)
{
	static const unsigned char magic[] = { 0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g' };
	hv_pbuf_bytes(b, magic, sizeof magic);
	hv_pbuf_bytes(b, "0.6", 4);
	hv_pbuf_u8(b, b->be ? 1 : 0);
	hv_pbuf_u8(b, 8);			/* long size */
	hv_pbuf_u32(b, PPC64_PAGE_SIZE);
	named_text(b, "header_page", header_page);
	named_text(b, "header_event", header_event);
	hv_pbuf_u32(b, 0);			/* ftrace internal event formats */
	event_formats(b, ev, nev);
	hv_pbuf_u32(b, 0);			/* kallsyms */
	hv_pbuf_u32(b, 0);			/* ftrace printk formats */
	saved_cmdlines(b, tasks, ntasks);
}
