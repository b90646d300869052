/*
 * perf.data importer, stage 3: what is inside a record.
 *
 * A PERF_RECORD_SAMPLE body holds the fields selected by its attr's sample_type in the fixed
 * ABI order (include/uapi/linux/perf_event.h); other records end with a sample_id trailer
 * (TID, TIME, ID, STREAM_ID, CPU, IDENTIFIER) when the attr has sample_id_all. The attr of a
 * record is found through its sample id: PERF_SAMPLE_IDENTIFIER (first u64 of a sample, last
 * of a trailer), else PERF_SAMPLE_ID at its computed position, else the only attr. Fields
 * after RAW are not needed and not read. Every read is bounds-checked against the record.
 */
#include "perf_int.h"

const struct perf_attr *perf_attr_by_id(struct perf_reader *r, uint64_t id)
{
	int i = r->last_id_hit;
	if (i < r->nids && r->id_key[i] == id)
		return &r->attrs[r->id_attr[i]];
	int lo = 0, hi = r->nids - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (r->id_key[mid] == id) {
			r->last_id_hit = mid;
			return &r->attrs[r->id_attr[mid]];
		}
		if (r->id_key[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* Position (in u64 words) of PERF_SAMPLE_ID in a sample of this sample_type. */
static int sample_id_pos(uint64_t st)
{
	int pos = 0;
	if (st & PS_IDENTIFIER)
		return 0;
	if (st & PS_IP)
		pos++;
	if (st & PS_TID)
		pos++;
	if (st & PS_TIME)
		pos++;
	if (st & PS_ADDR)
		pos++;
	return pos;
}

static const struct perf_attr *find_attr(struct perf_reader *r, const uint8_t *p, uint32_t n, int from_end)
{
	if (r->nattrs == 1)
		return &r->attrs[0];
	uint64_t st = r->attrs[0].sample_type;
	if (!(st & (PS_IDENTIFIER | PS_ID)))
		return &r->attrs[0];
	uint32_t pos;
	if (st & PS_IDENTIFIER) {
		if (n < 8)
			return NULL;
		pos = from_end ? n - 8 : 0;
	} else if (!from_end) {
		pos = 8u * (uint32_t)sample_id_pos(st);
		if (pos + 8 > n)
			return NULL;
	} else {
		/* trailer: ID comes after TID and TIME; count from the end */
		uint32_t after = 0;
		if (st & PS_STREAM_ID)
			after += 8;
		if (st & PS_CPU)
			after += 8;
		if (n < after + 8)
			return NULL;
		pos = n - after - 8;
	}
	return perf_attr_by_id(r, pr64(r->swap, p + pos));
}

/* Size of the READ part of a sample (read_format), or -1 if it does not fit. */
static int64_t read_size(int swap, const uint8_t *p, uint64_t left, uint64_t rf)
{
	uint64_t per = 8 + ((rf & PRF_ID) ? 8 : 0) + ((rf & PRF_LOST) ? 8 : 0);
	uint64_t extra = ((rf & PRF_TOTAL_ENABLED) ? 8 : 0) + ((rf & PRF_TOTAL_RUNNING) ? 8 : 0);
	if (!(rf & PRF_GROUP))
		return per + extra <= left ? (int64_t)(per + extra) : -1;
	if (left < 8 + extra)
		return -1;
	uint64_t nr = pr64(swap, p);
	if (nr > (left - 8 - extra) / per)
		return -1;
	return (int64_t)(8 + extra + nr * per);
}

int perf_parse_sample(struct perf_reader *r, const uint8_t *p, uint32_t n, struct perf_sample *s)
{
	memset(s, 0, sizeof *s);
	const uint8_t *body = p + 8;
	uint64_t left = n - 8, pos = 0;
	const struct perf_attr *a = find_attr(r, body, (uint32_t)left, 0);
	if (!a)
		return -1;
	s->attr = a;
	uint64_t st = a->sample_type;
	int sw = r->swap;
#define NEED(k) do { if (left - pos < (uint64_t)(k)) return -1; } while (0)
	if (st & PS_IDENTIFIER) {
		NEED(8);
		s->id = pr64(sw, body + pos);
		pos += 8;
	}
	if (st & PS_IP) {
		NEED(8);
		pos += 8;
	}
	if (st & PS_TID) {
		NEED(8);
		s->pid = pr32(sw, body + pos);
		s->tid = pr32(sw, body + pos + 4);
		s->has_tid = 1;
		pos += 8;
	}
	if (st & PS_TIME) {
		NEED(8);
		s->time = pr64(sw, body + pos);
		s->has_time = 1;
		pos += 8;
	}
	if (st & PS_ADDR) {
		NEED(8);
		pos += 8;
	}
	if (st & PS_ID) {
		NEED(8);
		s->id = pr64(sw, body + pos);
		pos += 8;
	}
	if (st & PS_STREAM_ID) {
		NEED(8);
		pos += 8;
	}
	if (st & PS_CPU) {
		NEED(8);
		s->cpu = pr32(sw, body + pos);
		s->has_cpu = 1;
		pos += 8;
	}
	if (st & PS_PERIOD) {
		NEED(8);
		pos += 8;
	}
	if (st & PS_READ) {
		int64_t k = read_size(sw, body + pos, left - pos, a->read_format);
		if (k < 0)
			return -1;
		pos += (uint64_t)k;
	}
	if (st & PS_CALLCHAIN) {
		NEED(8);
		uint64_t nr = pr64(sw, body + pos);
		pos += 8;
		if (nr > (left - pos) / 8)
			return -1;
		pos += nr * 8;
	}
	if (st & PS_RAW) {
		NEED(4);
		uint32_t sz = pr32(sw, body + pos);
		pos += 4;
		NEED(sz);
		s->raw = body + pos;
		s->raw_size = sz;
		pos += sz;
	}
#undef NEED
	/* BRANCH_STACK, REGS_USER, STACK_USER, ... follow; nothing here needs them. */
	return 0;
}

int perf_parse_id_trailer(struct perf_reader *r, const uint8_t *p, uint32_t n, uint32_t body,
			  struct perf_sample *s)
{
	memset(s, 0, sizeof *s);
	if (n < 8 + body)
		return -1;
	const uint8_t *t = p + 8 + body;
	uint32_t tn = n - 8 - body;
	const struct perf_attr *a = find_attr(r, t, tn, 1);
	if (!a && r->nattrs > 0)	/* e.g. synthesized records with an id of no attr: */
		a = &r->attrs[0];	/* the trailer layout is the same for all attrs */
	if (!a || !a->sample_id_all)
		return a ? 0 : -1;
	s->attr = a;
	uint64_t st = a->sample_type;
	uint32_t need = 8u * (uint32_t)(!!(st & PS_TID) + !!(st & PS_TIME) + !!(st & PS_ID) +
					!!(st & PS_STREAM_ID) + !!(st & PS_CPU) + !!(st & PS_IDENTIFIER));
	if (need > tn)
		return -1;
	const uint8_t *q = t + tn - need;
	int sw = r->swap;
	if (st & PS_TID) {
		s->pid = pr32(sw, q);
		s->tid = pr32(sw, q + 4);
		s->has_tid = 1;
		q += 8;
	}
	if (st & PS_TIME) {
		s->time = pr64(sw, q);
		s->has_time = 1;
		q += 8;
	}
	if (st & PS_ID) {
		s->id = pr64(sw, q);
		q += 8;
	}
	if (st & PS_STREAM_ID)
		q += 8;
	if (st & PS_CPU) {
		s->cpu = pr32(sw, q);
		s->has_cpu = 1;
		q += 8;
	}
	if (st & PS_IDENTIFIER)
		s->id = pr64(sw, q);
	return 0;
}

void perf_sample_cpu_pid(const struct perf_reader *r, const struct perf_sample *s, int32_t *cpu, int32_t *pid)
{
	*cpu = s->has_cpu ? (int32_t)s->cpu : -1;
	*pid = s->has_tid ? (int32_t)s->tid : (s->raw_size >= 8 ? (int32_t)pr32(r->swap, s->raw + 4) : -1);
}
