/*
 * perf.data importer, stage 1: the file around the records.
 *
 * Maps the input, reads the file header (magic "PERFILE2" in either byte order decides
 * whether the file is foreign-endian; the 16-byte pipe-mode header has only magic and size),
 * the attrs section (perf_event_attr + its id list, attr bitfield bits reversed per byte for
 * big-endian files), and the feature sections that follow the data section. Feature payloads
 * (also delivered by pipe-mode HEADER_FEATURE records) become `meta` rows; TRACING_DATA goes
 * to the decoder; unknown features are counted in `stats`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_perf_write.h"
#include "perf_int.h"

#define PERF_MAGIC 0x32454c4946524550ull	/* "PERFILE2" read as a little-endian u64 */
#define FILE_HEADER_SIZE 104
#define PIPE_HEADER_SIZE 16

enum {
	FEAT_TRACING_DATA = 1, FEAT_BUILD_ID = 2, FEAT_HOSTNAME = 3, FEAT_OSRELEASE = 4,
	FEAT_VERSION = 5, FEAT_ARCH = 6, FEAT_NRCPUS = 7, FEAT_CPUDESC = 8, FEAT_CPUID = 9,
	FEAT_TOTAL_MEM = 10, FEAT_CMDLINE = 11, FEAT_EVENT_DESC = 12, FEAT_CPU_TOPOLOGY = 13,
	FEAT_COMPRESSED = 27, FEAT_CLOCK_DATA = 29, FEAT_LAST_KNOWN = 31,
};

int perf_stat(struct perf_reader *r, const char *key, int64_t delta, const char *detail, struct hv_err *err)
{
	return hv_store_stat_add(r->st, key, delta, detail, err);
}

int perf_open(struct perf_reader *r, struct hv_err *err)
{
	struct stat sb;
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return hv_err_set(err, HV_E_IO, "%s: %s", r->path, strerror(errno));
	if (fstat(r->fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return hv_err_set(err, HV_E_IO, "%s: not a regular file", r->path);
	r->size = (uint64_t)sb.st_size;
	if (r->size == 0)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset 0: empty file", r->path);
	void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, r->fd, 0);
	if (m == MAP_FAILED)
		return hv_err_set(err, HV_E_IO, "%s: cannot map: %s", r->path, strerror(errno));
	madvise(m, r->size, MADV_SEQUENTIAL);
	r->map = m;
	return 0;
}

/* Drop the pages of the mapping that parsing the header, attrs and features faulted in (with
 * fault-around and large folios, a few hundred KB that stayed resident for the whole import,
 * more or less by the state of the page cache). The mapping stays valid: a later read through
 * it faults its pages in again. */
void perf_release_map(struct perf_reader *r)
{
	if (r->map)
		madvise((void *)r->map, r->size, MADV_DONTNEED);
}

void perf_close(struct perf_reader *r)
{
	if (r->map)
		munmap((void *)r->map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	for (int i = 0; i < r->nattrs; i++)
		free(r->attrs[i].name);
	free(r->attrs);
	free(r->id_key);
	free(r->id_attr);
	free(r->tasks);
}

/* Reverse the bits of each byte of a u64 (attr bitfields of big-endian files, see
 * perf's attr swapping: C bitfields are allocated from the MSB on big-endian ABIs). */
static uint64_t bitrev_bytes(uint64_t v)
{
	uint64_t out = 0;
	for (int b = 0; b < 8; b++) {
		uint8_t x = (uint8_t)(v >> (8 * b)), y = 0;
		for (int i = 0; i < 8; i++)
			if (x & (1u << i))
				y |= (uint8_t)(0x80u >> i);
		out |= (uint64_t)y << (8 * b);
	}
	return out;
}

int perf_add_attr(struct perf_reader *r, const uint8_t *p, uint64_t n, uint64_t off, struct hv_err *err)
{
	if (n < 64)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: perf_event_attr of %llu bytes is too small",
				  r->path, (unsigned long long)off, (unsigned long long)n);
	if (r->nattrs == r->cap_attrs) {
		int cap = r->cap_attrs ? r->cap_attrs * 2 : 16;
		if (cap > 65536)
			return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: too many attrs", r->path,
					  (unsigned long long)off);
		void *q = realloc(r->attrs, (size_t)cap * sizeof *r->attrs);
		if (!q)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		r->attrs = q;
		r->cap_attrs = cap;
	}
	struct perf_attr *a = &r->attrs[r->nattrs];
	memset(a, 0, sizeof *a);
	int sw = r->swap;
	a->type = pr32(sw, p);
	a->size = pr32(sw, p + 4);
	a->config = pr64(sw, p + 8);
	a->sample_type = pr64(sw, p + 24);
	a->read_format = pr64(sw, p + 32);
	/* The flags bitfield is not byte-swapped: a big-endian ABI allocates bitfields from the
	 * most significant bit of each byte, so a big-endian file has the same bytes with the
	 * bits of each byte reversed. Read it as little-endian bytes, un-reverse if BE. */
	int file_le = (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) != sw;
	a->flags = pr64(__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__, p + 40);
	if (!file_le)
		a->flags = bitrev_bytes(a->flags);
	uint64_t have = a->size && a->size < n ? a->size : n;
	if (have >= 80)
		a->branch_sample_type = pr64(sw, p + 72);
	if (have >= 96)
		a->sample_regs_user = pr64(sw, p + 80);
	if (have >= 112)
		a->sample_regs_intr = pr64(sw, p + 104);
	a->sample_id_all = (int)((a->flags >> 18) & 1);
	return r->nattrs++;
}

int perf_add_id(struct perf_reader *r, uint64_t id, int attr, struct hv_err *err)
{
	/* keep id_key sorted (ids usually arrive ascending) */
	if (r->nids == r->cap_ids) {
		int cap = r->cap_ids ? r->cap_ids * 2 : 64;
		if (cap > (1 << 22))
			return hv_err_set(err, HV_E_CORRUPT, "%s: too many sample ids", r->path);
		uint64_t *k = realloc(r->id_key, (size_t)cap * sizeof *k);
		if (!k)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		r->id_key = k;
		int *v = realloc(r->id_attr, (size_t)cap * sizeof *v);
		if (!v)
			return hv_err_set(err, HV_E_NOMEM, "%s: out of memory", r->path);
		r->id_attr = v;
		r->cap_ids = cap;
	}
	int i = r->nids;
	while (i > 0 && r->id_key[i - 1] > id) {
		r->id_key[i] = r->id_key[i - 1];
		r->id_attr[i] = r->id_attr[i - 1];
		i--;
	}
	if (i > 0 && r->id_key[i - 1] == id) {	/* duplicate: undo the shift, keep the first */
		for (int j = i; j < r->nids; j++) {
			r->id_key[j] = r->id_key[j + 1];
			r->id_attr[j] = r->id_attr[j + 1];
		}
		return perf_stat(r, "perf.duplicate_sample_id", 1, NULL, err);
	}
	r->id_key[i] = id;
	r->id_attr[i] = attr;
	r->nids++;
	return 0;
}

static int in_file(const struct perf_reader *r, uint64_t off, uint64_t n)
{
	return off <= r->size && n <= r->size - off;
}

static int read_attrs(struct perf_reader *r, uint64_t attr_size, uint64_t off, uint64_t size,
		      struct hv_err *err)
{
	if (attr_size < 64 + 16 || attr_size > 4096)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset 16: attr size %llu is not plausible", r->path,
				  (unsigned long long)attr_size);
	if (!in_file(r, off, size))
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: attrs section (%llu bytes) runs past the end of the file (%llu bytes)",
				  r->path, (unsigned long long)off, (unsigned long long)size, (unsigned long long)r->size);
	for (uint64_t o = off; o + attr_size <= off + size; o += attr_size) {
		int a = perf_add_attr(r, r->map + o, attr_size - 16, o, err);
		if (a < 0)
			return a;
		uint64_t ioff = pr64(r->swap, r->map + o + attr_size - 16);
		uint64_t isz = pr64(r->swap, r->map + o + attr_size - 8);
		if (!in_file(r, ioff, isz) || isz % 8)
			return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: id list of attr %d (offset %llu, %llu bytes) is outside the file",
					  r->path, (unsigned long long)o, a, (unsigned long long)ioff, (unsigned long long)isz);
		for (uint64_t i = 0; i < isz; i += 8) {
			int rc = perf_add_id(r, pr64(r->swap, r->map + ioff + i), a, err);
			if (rc < 0)
				return rc;
		}
	}
	if (r->nattrs == 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset %llu: the file has no event attrs", r->path,
				  (unsigned long long)off);
	return 0;
}

int perf_read_header(struct perf_reader *r, struct hv_err *err)
{
	if (r->size < PIPE_HEADER_SIZE)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset 0: file too short for a perf.data header (%llu bytes)",
				  r->path, (unsigned long long)r->size);
	uint64_t magic;
	memcpy(&magic, r->map, 8);
	if (magic == PERF_MAGIC)
		r->swap = 0;
	else if (__builtin_bswap64(magic) == PERF_MAGIC)
		r->swap = 1;
	else if (memcmp(r->map, "PERFFILE", 8) == 0)
		return hv_err_set(err, HV_E_FORMAT, "%s: offset 0: old perf.data version 1 files are not supported", r->path);
	else
		return hv_err_set(err, HV_E_FORMAT, "%s: offset 0: not a perf.data file (no PERFILE2 magic)", r->path);
	uint64_t hsize = pr64(r->swap, r->map + 8);
	if (hsize == PIPE_HEADER_SIZE) {
		r->pipe = 1;
		return 0;
	}
	if (hsize != FILE_HEADER_SIZE)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset 8: header size %llu (expected 104, or 16 for pipe mode)",
				  r->path, (unsigned long long)hsize);
	if (r->size < FILE_HEADER_SIZE)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: file ends inside the 104-byte header",
				  r->path, (unsigned long long)r->size);
	const uint8_t *h = r->map;
	uint64_t attr_size = pr64(r->swap, h + 16);
	uint64_t aoff = pr64(r->swap, h + 24), asz = pr64(r->swap, h + 32);
	r->data_off = pr64(r->swap, h + 40);
	r->data_size = pr64(r->swap, h + 48);
	for (int i = 0; i < 4; i++)
		r->features[i] = pr64(r->swap, h + 72 + 8 * i);
	if (r->data_off < FILE_HEADER_SIZE || r->data_off % 8)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset 40: data offset %llu is not plausible", r->path,
				  (unsigned long long)r->data_off);
	if (r->data_size == 0)
		return hv_err_set(err, HV_E_CORRUPT, "%s: offset 48: data size is 0 (was perf record interrupted before writing the header?)",
				  r->path);
	return read_attrs(r, attr_size, aoff, asz, err);
}

/* ---- feature payloads ---- */

struct cursor {
	const uint8_t *p;
	uint64_t n, pos;
	int swap;
	int bad;
};

static uint32_t cur_u32(struct cursor *c)
{
	if (c->bad || c->n - c->pos < 4) {
		c->bad = 1;
		return 0;
	}
	uint32_t v = pr32(c->swap, c->p + c->pos);
	c->pos += 4;
	return v;
}

static uint64_t cur_u64(struct cursor *c)
{
	if (c->bad || c->n - c->pos < 8) {
		c->bad = 1;
		return 0;
	}
	uint64_t v = pr64(c->swap, c->p + c->pos);
	c->pos += 8;
	return v;
}

/* {u32 len; char[len]} into buf (NUL-terminated, truncated to the buffer). */
static void cur_str(struct cursor *c, char *buf, size_t bn)
{
	buf[0] = 0;
	uint32_t len = cur_u32(c);
	if (c->bad || c->n - c->pos < len) {
		c->bad = 1;
		return;
	}
	size_t k = strnlen((const char *)c->p + c->pos, len);
	if (k >= bn)
		k = bn - 1;
	memcpy(buf, c->p + c->pos, k);
	buf[k] = 0;
	c->pos += len;
}

static int set_meta(struct perf_reader *r, const char *key, const char *v, struct hv_err *err)
{
	return hv_store_set_meta(r->st, key, v, err);
}

static int feat_string(struct perf_reader *r, const char *key, struct cursor *c, struct hv_err *err)
{
	char buf[4096];
	cur_str(c, buf, sizeof buf);
	if (c->bad)
		return 0;
	return set_meta(r, key, buf, err);
}

/* Number of CPUs in a list like "0-3,8,10-11". */
static int cpulist_count(const char *s)
{
	int n = 0;
	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b;
		if (e == s)
			return n;
		b = a;
		if (*e == '-') {
			s = e + 1;
			b = strtol(s, &e, 10);
			if (e == s)
				return n;
		}
		if (b >= a && b - a < 100000)
			n += (int)(b - a + 1);
		s = *e == ',' ? e + 1 : e;
		if (*e != ',' )
			break;
	}
	return n;
}

static int feat_topology(struct perf_reader *r, struct cursor *c, struct hv_err *err)
{
	char buf[4096];
	uint32_t ncore = cur_u32(c);
	for (uint32_t i = 0; i < ncore && !c->bad; i++)
		cur_str(c, buf, sizeof buf);
	uint32_t nthr = cur_u32(c);
	int tpc = 0;
	for (uint32_t i = 0; i < nthr && !c->bad; i++) {
		cur_str(c, buf, sizeof buf);
		int k = cpulist_count(buf);
		if (k > tpc)
			tpc = k;
	}
	if (c->bad || tpc == 0)
		return 0;
	snprintf(buf, sizeof buf, "%d", tpc);
	return set_meta(r, "threads_per_core", buf, err);
}

static int feat_event_desc(struct perf_reader *r, struct cursor *c, struct hv_err *err)
{
	(void)err;
	uint32_t nre = cur_u32(c), sz = cur_u32(c);
	if (c->bad || sz < 64 || sz > 4096)
		return 0;
	for (uint32_t e = 0; e < nre && !c->bad; e++) {
		if (c->n - c->pos < sz) {
			c->bad = 1;
			break;
		}
		c->pos += sz;
		uint32_t nid = cur_u32(c);
		char name[256];
		cur_str(c, name, sizeof name);
		for (uint32_t i = 0; i < nid && !c->bad; i++) {
			uint64_t id = cur_u64(c);
			const struct perf_attr *a = perf_attr_by_id(r, id);
			if (a && !a->name)
				((struct perf_attr *)a)->name = strdup(name);
		}
	}
	return 0;
}

/* hvtrace's private facts section (hv_perf_write.h): u32 count, the magic string, then key,
 * value pairs, stored into meta. Keys the importer itself sets (what the database is, where
 * it came from) are not taken from the file. Anything else in this bit is counted and skipped. */
static int feat_hvtrace_meta(struct perf_reader *r, struct cursor *c, struct hv_err *err)
{
	static const char *const reserved[] = { "source", "format", "byte_order", "input", "events",
						"hvtrace_version", "schema_version", NULL };
	char key[256], val[1024];
	uint32_t nr = cur_u32(c);
	cur_str(c, key, sizeof key);
	if (c->bad || nr % 2 == 0 || strcmp(key, HV_PERF_HVTRACE_META_MAGIC))
		return perf_stat(r, "perf.unknown_feature.255", 1, "feature section skipped", err);
	int rc = 0;
	for (uint32_t i = 1; i + 1 < nr && rc == 0; i += 2) {
		cur_str(c, key, sizeof key);
		cur_str(c, val, sizeof val);
		if (c->bad)
			break;
		int skip = !key[0];
		for (int k = 0; !skip && reserved[k]; k++)
			skip = !strcmp(key, reserved[k]);
		if (!skip)
			rc = set_meta(r, key, val, err);
	}
	if (rc == 0 && c->bad)
		rc = perf_stat(r, "perf.bad_hvtrace_meta", 1, "hvtrace facts section cut short", err);
	return rc;
}

static void cpu_from_desc(const char *desc, char *out, size_t n)
{
	size_t k = strcspn(desc, ", ");
	if (k >= n)
		k = n - 1;
	memcpy(out, desc, k);
	out[k] = 0;
}

int perf_feature(struct perf_reader *r, int feat, const uint8_t *p, uint64_t n, uint64_t off,
		 struct hv_err *err)
{
	struct cursor c = { p, n, 0, r->swap, 0 };
	char buf[4096];
	int rc = 0;
	switch (feat) {
	case FEAT_TRACING_DATA: {
		uint64_t used;
		return perf_decode_tracing_data(r, p, n, off, &used, err);
	}
	case FEAT_HOSTNAME: return feat_string(r, "hostname", &c, err);
	case FEAT_OSRELEASE: return feat_string(r, "osrelease", &c, err);
	case FEAT_VERSION: return feat_string(r, "perf_version", &c, err);
	case FEAT_ARCH: return feat_string(r, "arch", &c, err);
	case FEAT_CPUID: return feat_string(r, "cpuid", &c, err);
	case FEAT_CPUDESC: {
		cur_str(&c, buf, sizeof buf);
		if (c.bad)
			return 0;
		rc = set_meta(r, "cpudesc", buf, err);
		char cpu[64];
		cpu_from_desc(buf, cpu, sizeof cpu);
		if (rc == 0 && strncmp(cpu, "POWER", 5) == 0) {
			rc = set_meta(r, "cpu", cpu, err);
			/* POWER8 and older have only the hashed page table */
			if (rc == 0 && (strcmp(cpu, "POWER8") == 0 || strcmp(cpu, "POWER7") == 0))
				rc = set_meta(r, "mmu", "hpt", err);
		}
		return rc;
	}
	case FEAT_NRCPUS: {
		uint32_t avail = cur_u32(&c), online = cur_u32(&c);
		if (c.bad)
			return 0;
		snprintf(buf, sizeof buf, "%u", online);
		rc = set_meta(r, "nrcpus", buf, err);
		snprintf(buf, sizeof buf, "%u", avail);
		return rc ? rc : set_meta(r, "nrcpus_avail", buf, err);
	}
	case FEAT_TOTAL_MEM: {
		uint64_t kb = cur_u64(&c);
		if (c.bad)
			return 0;
		snprintf(buf, sizeof buf, "%llu", (unsigned long long)kb);
		return set_meta(r, "total_mem_kb", buf, err);
	}
	case FEAT_CMDLINE: {
		uint32_t nr = cur_u32(&c);
		size_t len = 0;
		char word[1024];
		buf[0] = 0;
		for (uint32_t i = 0; i < nr && !c.bad; i++) {
			cur_str(&c, word, sizeof word);
			int k = snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", word);
			if (k > 0 && (size_t)k < sizeof buf - len)
				len += (size_t)k;
		}
		return c.bad ? 0 : set_meta(r, "cmdline", buf, err);
	}
	case FEAT_EVENT_DESC: return feat_event_desc(r, &c, err);
	case FEAT_CPU_TOPOLOGY: return feat_topology(r, &c, err);
	case HV_PERF_FEAT_HVTRACE_META: return feat_hvtrace_meta(r, &c, err);
	case FEAT_COMPRESSED: {
		uint32_t ver = cur_u32(&c), type = cur_u32(&c), level = cur_u32(&c);
		if (c.bad)
			return 0;
		snprintf(buf, sizeof buf, "%s level %u (version %u)", type == 1 ? "zstd" : "unknown", level, ver);
		return set_meta(r, "compressed", buf, err);
	}
	case FEAT_CLOCK_DATA: {
		uint32_t ver = cur_u32(&c), clockid = cur_u32(&c);
		uint64_t tod = cur_u64(&c), clk = cur_u64(&c);
		(void)ver;
		if (c.bad)
			return 0;
		snprintf(buf, sizeof buf, "clockid %u tod_ns %llu clock_ns %llu", clockid,
			 (unsigned long long)tod, (unsigned long long)clk);
		return set_meta(r, "clock_data", buf, err);
	}
	default:
		if (feat > FEAT_LAST_KNOWN) {
			snprintf(buf, sizeof buf, "perf.unknown_feature.%d", feat);
			return perf_stat(r, buf, 1, "feature section skipped", err);
		}
		return 0;	/* known to perf, of no use here */
	}
}

int perf_read_features(struct perf_reader *r, struct hv_err *err)
{
	uint64_t foff = r->data_off + r->data_size;
	int nfeat = 0;
	for (int b = 0; b < 256; b++)
		nfeat += (int)((r->features[b / 64] >> (b % 64)) & 1);
	if (foff < r->data_off || !in_file(r, foff, (uint64_t)nfeat * 16))
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: the feature sections (after the data) are missing: the file ends at %llu; "
				  "without the tracing data (event formats) in them no event can be decoded",
				  r->path, (unsigned long long)foff, (unsigned long long)r->size);
	int k = 0;
	uint64_t bad_off = 0;
	for (int b = 0; b < 256; b++) {
		if (!((r->features[b / 64] >> (b % 64)) & 1))
			continue;
		uint64_t so = foff + 16ull * (uint64_t)k++;
		uint64_t off = pr64(r->swap, r->map + so), sz = pr64(r->swap, r->map + so + 8);
		if (!in_file(r, off, sz)) {
			if (!bad_off || off < bad_off)
				bad_off = off ? off : so;
			continue;
		}
		int rc = perf_feature(r, b, r->map + off, sz, off, err);
		if (rc < 0)
			return rc;
	}
	if (bad_off)
		return hv_err_set(err, HV_E_TRUNCATED, "%s: offset %llu: a feature section runs past the end of the file (%llu bytes)%s",
				  r->path, (unsigned long long)bad_off, (unsigned long long)r->size,
				  r->have_tracing ? "" : "; without the tracing data (event formats) no event can be decoded");
	return 0;
}
