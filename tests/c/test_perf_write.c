/*
 * Tests of the perf.data writer (db/perf_write.c) that need no perf: the file is read back
 * with a small reader written here from the format description (shared/spec/perf-data.md),
 * in both byte orders: header and magic, attrs (including the big-endian bitfield layout),
 * record framing, the kernel MMAP, sample layout and RAW payload byte order, string truncation, COMM records
 * and the pid they give samples, FINISHED_ROUND cadence, the feature sections, determinism
 * and the error paths; the private hvtrace facts section (bit 255) and its import back into
 * meta. tests/sh/test_perf_export.sh checks the files with the real perf.
 */
#include <dirent.h>
#include <unistd.h>

#include "hv_events.h"
#include "hv_import.h"
#include "hv_perf_write.h"
#include "tap.h"

struct file {
	unsigned char *p;
	size_t n;
	int be;
};

static int load(const char *path, struct file *f)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	f->n = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f->p = malloc(f->n ? f->n : 1);
	size_t got = fread(f->p, 1, f->n, fp);
	fclose(fp);
	f->be = f->n >= 8 && memcmp(f->p, "2ELIFREP", 8) == 0;
	return got == f->n ? 0 : -1;
}

static uint64_t rd(const struct file *f, size_t off, unsigned size)
{
	uint64_t v = 0;
	if (off + size > f->n)
		return 0xdeadbeef;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)f->p[off + i] << (8 * (f->be ? size - 1 - i : i));
	return v;
}

struct counts {
	int samples, comms, rounds, mmaps, other, bad;
	size_t first_sample;	/* offset of the first SAMPLE record */
	size_t first_comm;
	size_t last_sample;
	int max_gap;		/* most samples between two FINISHED_ROUND */
};

static void walk(const struct file *f, struct counts *c)
{
	memset(c, 0, sizeof *c);
	size_t off = rd(f, 40, 8), end = off + rd(f, 48, 8);
	int gap = 0;
	while (off + 8 <= end) {
		uint32_t type = (uint32_t)rd(f, off, 4);
		uint16_t size = (uint16_t)rd(f, off + 6, 2);
		if (size < 8 || size % 8 || off + size > end) {
			c->bad++;
			return;
		}
		if (type == 9) {
			if (!c->samples)
				c->first_sample = off;
			c->last_sample = off;
			c->samples++;
			gap++;
		} else if (type == 3) {
			if (!c->comms)
				c->first_comm = off;
			c->comms++;
		} else if (type == 1) {
			c->mmaps++;
		} else if (type == 68) {
			c->rounds++;
			if (gap > c->max_gap)
				c->max_gap = gap;
			gap = 0;
		} else {
			c->other++;
		}
		off += size;
	}
	if (off != end)
		c->bad++;
}

/* Offset and size of feature `feat`, or 0. */
static size_t feature(const struct file *f, int feat, size_t *size)
{
	uint64_t bits = rd(f, 72, 8);
	if (!(bits >> feat & 1))
		return 0;
	size_t tab = rd(f, 40, 8) + rd(f, 48, 8);
	int k = 0;
	for (int b = 0; b < feat; b++)
		k += (int)(bits >> b & 1);
	*size = rd(f, tab + 16u * (unsigned)k + 8, 8);
	return rd(f, tab + 16u * (unsigned)k, 8);
}

static int contains(const struct file *f, size_t off, size_t n, const char *s)
{
	size_t l = strlen(s);
	for (size_t i = off; i + l <= off + n && i + l <= f->n; i++)
		if (memcmp(f->p + i, s, l) == 0)
			return 1;
	return 0;
}

/* Write a small file: two tasks, guest_enter/exit pairs, one sched_switch with long names. */
static int write_file(const char *path, int be, int nevents, struct hv_err *err)
{
	static const int evs[] = { HV_EV_KVM_GUEST_ENTER, HV_EV_KVM_GUEST_EXIT, HV_EV_SCHED_SWITCH };
	struct hv_perfw_opts o = { .big_endian = be, .force = 1, .events = evs, .nevents = 3 };
	struct hv_perfw *w;
	int rc = hv_perfw_open(path, &o, &w, err);
	if (rc < 0)
		return rc;
	if ((rc = hv_perfw_comm(w, 100, 101, "CPU 0/KVM", 0, err)) < 0 ||
	    (rc = hv_perfw_comm(w, 100, 102, "CPU 1/KVM", 0, err)) < 0) {
		hv_perfw_abort(w);
		return rc;
	}
	struct hv_sink s = hv_perfw_sink(w);
	for (int i = 0; i < nevents && rc == 0; i++) {
		struct hv_value enter[4] = { { .i = 0x01020304 }, { .i = (int64_t)0xc000000000004500ull }, { .i = -1 }, { .i = 255 } };
		struct hv_value exitv[5] = { { .i = -7 }, { .i = 0x980 }, { .i = 1 }, { .i = 2 }, { .i = 0 } };
		if (i % 2 == 0)
			rc = s.emit(s.ctx, HV_EV_KVM_GUEST_ENTER, 1000u + 10u * (unsigned)i, 3, 101, enter);
		else
			rc = s.emit(s.ctx, HV_EV_KVM_GUEST_EXIT, 1000u + 10u * (unsigned)i, 3, 102, exitv);
	}
	struct hv_value sw[7] = { { .p = "a-very-long-task-name", .len = 21 }, { .i = 5 }, { .i = 120 }, { .i = 1 },
				  { .p = "short", .len = 5 }, { .i = 6 }, { .i = 120 } };
	if (rc == 0)
		rc = s.emit(s.ctx, HV_EV_SCHED_SWITCH, 1000u + 10u * (unsigned)nevents, 4, 555, sw);
	if (rc < 0) {
		hv_perfw_close(w, err);
		return rc;
	}
	return hv_perfw_close(w, err);
}

static void check_order(const char *dir, int be)
{
	char path[512];
	struct hv_err err = { 0 };
	struct file f = { 0 };
	struct counts c;
	snprintf(path, sizeof path, "%s/%s.data", dir, be ? "be" : "le");
	const int n = 10000;
	int rc = write_file(path, be, n, &err);

	TEST(be ? "perfw: big-endian file written" : "perfw: little-endian file written") {
		CHECK_EQ_I(rc, 0);
		CHECK(load(path, &f) == 0);
		CHECK_EQ_I(f.be, be);
		CHECK(memcmp(f.p, be ? "2ELIFREP" : "PERFILE2", 8) == 0);
	}
	if (!f.p)
		return;
	TEST(be ? "perfw: BE header and attrs" : "perfw: LE header and attrs") {
		CHECK_EQ_I(rd(&f, 8, 8), 104);
		CHECK_EQ_I(rd(&f, 16, 8), 144);
		size_t attrs = rd(&f, 24, 8);
		CHECK_EQ_I(rd(&f, 32, 8), 3 * 144);
		CHECK_EQ_I(rd(&f, attrs + 0, 4), 2);			/* PERF_TYPE_TRACEPOINT */
		CHECK_EQ_I(rd(&f, attrs + 4, 4), 128);
		CHECK_EQ_I(rd(&f, attrs + 8, 8), hv_events[HV_EV_KVM_GUEST_ENTER].id);
		CHECK_EQ_I(rd(&f, attrs + 144 + 8, 8), hv_events[HV_EV_KVM_GUEST_EXIT].id);
		CHECK_EQ_I(rd(&f, attrs + 24, 8), 0x10587);		/* IP|TID|TIME|CPU|PERIOD|RAW|IDENTIFIER */
		/* flag bits 0, 1 (disabled, inherit), 18 (sample_id_all), 20 (exclude_guest):
		 * MSB-first within each byte on big-endian */
		CHECK_EQ_I(f.p[attrs + 40], be ? 0xc0 : 0x03);
		CHECK_EQ_I(f.p[attrs + 41], 0);
		CHECK_EQ_I(f.p[attrs + 42], be ? 0x28 : 0x14);
		size_t ids = rd(&f, attrs + 128, 8);
		CHECK_EQ_I(rd(&f, attrs + 136, 8), 8);
		CHECK_EQ_I(rd(&f, ids, 8), 1);
		CHECK_EQ_I(rd(&f, 40, 8), attrs + 3 * 144);		/* data follows the attrs */
	}
	walk(&f, &c);
	TEST(be ? "perfw: BE records framed, counted, rounds" : "perfw: LE records framed, counted, rounds") {
		CHECK_EQ_I(c.bad, 0);
		CHECK_EQ_I(c.samples, n + 1);
		CHECK_EQ_I(c.comms, 2);
		CHECK_EQ_I(c.other, 0);
		CHECK_EQ_I(c.mmaps, 1);					/* the kernel map */
		CHECK_EQ_I(rd(&f, rd(&f, 40, 8), 4), 1);		/* and it comes first */
		CHECK(c.rounds >= n / 4096 + 1);
		CHECK(c.max_gap <= 4096);
		CHECK(c.first_comm < c.first_sample);
	}
	TEST(be ? "perfw: BE sample layout and RAW payload" : "perfw: LE sample layout and RAW payload") {
		size_t s = c.first_sample;
		CHECK_EQ_I(rd(&f, s + 4, 2), 1);			/* misc: kernel */
		CHECK_EQ_I(rd(&f, s + 6, 2), 8 + 48 + 4 + 44);		/* raw 40 bytes padded to 44 */
		CHECK_EQ_I(rd(&f, s + 8, 8), 1);			/* IDENTIFIER: attr 0 */
		CHECK_EQ_I(rd(&f, s + 24, 4), 100);			/* pid from the COMM */
		CHECK_EQ_I(rd(&f, s + 28, 4), 101);			/* tid */
		CHECK_EQ_I(rd(&f, s + 32, 8), 1000);			/* time */
		CHECK_EQ_I(rd(&f, s + 40, 4), 3);			/* cpu */
		CHECK_EQ_I(rd(&f, s + 48, 8), 1);			/* period */
		CHECK_EQ_I(rd(&f, s + 56, 4), 44);			/* raw size */
		size_t raw = s + 60;
		CHECK_EQ_I(rd(&f, raw, 2), hv_events[HV_EV_KVM_GUEST_ENTER].id);
		CHECK_EQ_I(rd(&f, raw + 4, 4), 101);			/* common_pid */
		static const unsigned char le[] = { 4, 3, 2, 1 }, bee[] = { 1, 2, 3, 4 };
		CHECK(memcmp(f.p + raw + 8, be ? bee : le, 4) == 0);	/* vcpu_id in the file's order */
		CHECK_EQ_I(rd(&f, raw + 16, 8), 0xc000000000004500ull);
		CHECK(rd(&f, raw + 24, 8) == ~0ull);
		CHECK_EQ_I(rd(&f, raw + 32, 1), 255);
	}
	TEST(be ? "perfw: BE strings cut to the field, COMM record" : "perfw: LE strings cut to the field, COMM record") {
		size_t off = c.last_sample;
		size_t raw = off + 60;
		CHECK_EQ_I(rd(&f, raw, 2), hv_events[HV_EV_SCHED_SWITCH].id);
		CHECK(memcmp(f.p + raw + 8, "a-very-long-tas\0", 16) == 0);
		CHECK(memcmp(f.p + raw + 40, "short\0\0\0", 8) == 0);
		CHECK_EQ_I(rd(&f, off + 24, 4), 555);			/* unnamed task: pid = tid */
		size_t cm = c.first_comm;
		CHECK_EQ_I(rd(&f, cm + 8, 4), 100);
		CHECK_EQ_I(rd(&f, cm + 12, 4), 101);
		CHECK(memcmp(f.p + cm + 16, "CPU 0/KVM\0", 10) == 0);
		CHECK_EQ_I(rd(&f, cm + 6, 2), 8 + 8 + 16 + 32);	/* name padded to 8, sample_id trailer */
	}
	TEST(be ? "perfw: BE feature sections" : "perfw: LE feature sections") {
		size_t sz = 0, td = feature(&f, 1, &sz);
		CHECK(td != 0);
		CHECK(td && memcmp(f.p + td, "\x17\x08\x44tracing0.6", 13) == 0);
		CHECK_EQ_I(f.p[td + 14], be);				/* file big-endian flag */
		CHECK_EQ_I(f.p[td + 15], 8);				/* long size */
		CHECK_EQ_I(rd(&f, td + 16, 4), 65536);
		CHECK(contains(&f, td, sz, "name: kvm_guest_enter\n"));
		CHECK(contains(&f, td, sz, "name: sched_switch\n"));
		CHECK(!contains(&f, td, sz, "name: kvm_hcall_enter\n"));
		CHECK(contains(&f, td, sz, "101 CPU 0/KVM\n"));
		CHECK(td + sz <= f.n);
		size_t ed = feature(&f, 12, &sz);
		CHECK(ed && rd(&f, ed, 4) == 3);
		CHECK(ed && contains(&f, ed, sz, "kvm_hv:kvm_guest_exit"));
		size_t ar = feature(&f, 6, &sz);
		CHECK(ar && contains(&f, ar, sz, be ? "ppc64\0" : "ppc64le\0"));
		size_t nc = feature(&f, 7, &sz);
		CHECK(nc && rd(&f, nc, 4) == 5);			/* highest cpu 4 + 1 */
		CHECK(feature(&f, 3, &sz) != 0);			/* HOSTNAME: perf needs it */
		size_t st = feature(&f, 21, &sz);
		CHECK(st && rd(&f, st, 8) == 1000 && rd(&f, st + 8, 8) == 1000u + 10u * n);
	}
	TEST(be ? "perfw: BE output is deterministic" : "perfw: LE output is deterministic") {
		char again[600];
		struct file g = { 0 };
		snprintf(again, sizeof again, "%s.again", path);
		CHECK_EQ_I(write_file(again, be, n, &err), 0);
		CHECK(load(again, &g) == 0);
		CHECK(g.n == f.n && memcmp(f.p, g.p, f.n) == 0);
		free(g.p);
		unlink(again);
	}
	free(f.p);
	unlink(path);
}

static int nfiles(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void errors(const char *dir)
{
	char path[512];
	struct hv_err err = { 0 };
	struct hv_perfw *w = NULL;
	snprintf(path, sizeof path, "%s/x.data", dir);
	TEST("perfw: an existing file is kept without force") {
		FILE *fp = fopen(path, "w");
		fputs("keep", fp);
		fclose(fp);
		struct hv_perfw_opts o = { 0 };
		CHECK_EQ_I(hv_perfw_open(path, &o, &w, &err), HV_E_EXISTS);
		CHECK(w == NULL);
		CHECK(strstr(err.msg, "x.data") != NULL);
		unlink(path);
	}
	TEST("perfw: an event without an attr fails and leaves nothing") {
		int ev = HV_EV_KVM_GUEST_ENTER;
		struct hv_perfw_opts o = { .events = &ev, .nevents = 1 };
		CHECK_EQ_I(hv_perfw_open(path, &o, &w, &err), 0);
		struct hv_sink s = hv_perfw_sink(w);
		struct hv_value v[5] = { { 0 } };
		CHECK(s.emit(s.ctx, HV_EV_KVM_GUEST_EXIT, 1, 0, 1, v) < 0);
		CHECK(s.emit(s.ctx, HV_EV_KVM_GUEST_ENTER, 2, 0, 1, v) < 0);	/* stays failed */
		CHECK(hv_perfw_close(w, &err) < 0);
		CHECK(strstr(err.msg, "no attr") != NULL);
		CHECK_EQ_I(nfiles(dir), 0);
	}
	TEST("perfw: abort leaves nothing; bad options are refused") {
		struct hv_perfw_opts o = { 0 };
		CHECK_EQ_I(hv_perfw_open(path, &o, &w, &err), 0);
		hv_perfw_abort(w);
		hv_perfw_abort(NULL);
		CHECK_EQ_I(nfiles(dir), 0);
		int bad = HV_EV_COUNT;
		struct hv_perfw_opts ob = { .events = &bad, .nevents = 1 };
		CHECK_EQ_I(hv_perfw_open(path, &ob, &w, &err), HV_E_USAGE);
		CHECK_EQ_I(hv_perfw_open("/nonexistent-dir/x.data", &o, &w, &err), HV_E_IO);
		CHECK_EQ_I(nfiles(dir), 0);
	}
	TEST("perfw: an empty trace is a valid file") {
		struct hv_perfw_opts o = { 0 };
		struct file f = { 0 };
		struct counts c;
		CHECK_EQ_I(hv_perfw_open(path, &o, &w, &err), 0);
		CHECK_EQ_I(hv_perfw_close(w, &err), 0);
		CHECK(load(path, &f) == 0);
		walk(&f, &c);
		CHECK_EQ_I(c.bad, 0);
		CHECK_EQ_I(c.samples, 0);
		CHECK_EQ_I(rd(&f, 32, 8), (uint64_t)HV_EV_COUNT * 144);	/* every known event */
		free(f.p);
		unlink(path);
	}
}

/* The facts section: bit 255 set (and nothing else above 63), the last section, u32 count,
 * then strings; imported back into meta, except the keys the importer owns. */
static void facts(const char *dir, int be)
{
	char path[512], db[600];
	struct hv_err err = { 0 };
	snprintf(path, sizeof path, "%s/facts-%d.data", dir, be);
	snprintf(db, sizeof db, "%s.db", path);
	struct hv_perfw_opts o = { .big_endian = be, .force = 1 };
	struct hv_perfw *w;
	int rc = hv_perfw_open(path, &o, &w, &err);
	if (rc == 0) {
		hv_perfw_meta(w, "profile", "E43_piggyback", &err);
		hv_perfw_meta(w, "source", "simulator", &err);
		hv_perfw_meta(w, "vm.1.smt_mode", "4", &err);
		rc = hv_perfw_close(w, &err);
	}
	TEST(be ? "perfw: BE facts section at bit 255" : "perfw: LE facts section at bit 255") {
		struct file f = { 0 };
		CHECK_EQ_I(rc, 0);
		CHECK(load(path, &f) == 0);
		CHECK_EQ_I(rd(&f, 96, 8), 1ull << 63);
		CHECK_EQ_I(rd(&f, 80, 8) | rd(&f, 88, 8), 0);
		int k = 0;
		for (int b = 0; b < 64; b++)
			k += (int)(rd(&f, 72, 8) >> b & 1);
		size_t tab = rd(&f, 40, 8) + rd(&f, 48, 8);
		size_t off = rd(&f, tab + 16u * (unsigned)k, 8), sz = rd(&f, tab + 16u * (unsigned)k + 8, 8);
		CHECK(off && off + sz == f.n);
		CHECK_EQ_I(rd(&f, off, 4), 7);				/* magic + 3 pairs */
		CHECK_EQ_I(rd(&f, off + 4, 4), 64);			/* perf string: length padded to 64 */
		CHECK(memcmp(f.p + off + 8, "hvtrace-meta-1\0", 15) == 0);
		CHECK(contains(&f, off, sz, "E43_piggyback"));
		free(f.p);
	}
	TEST(be ? "perfw: BE facts come back into meta" : "perfw: LE facts come back into meta") {
		struct hv_store *st;
		struct hv_import_result res;
		char v[64];
		memset(&res, 0, sizeof res);
		CHECK_EQ_I(hv_store_create(db, HV_STORE_FORCE, &st, &err), 0);
		CHECK_EQ_I(hv_import_perf(path, st, NULL, &res, &err), 0);
		CHECK_EQ_I(hv_store_get_meta(st, "profile", v, sizeof v, &err), 1);
		CHECK_EQ_S(v, "E43_piggyback");
		CHECK_EQ_I(hv_store_get_meta(st, "vm.1.smt_mode", v, sizeof v, &err), 1);
		CHECK_EQ_S(v, "4");
		CHECK_EQ_I(hv_store_get_meta(st, "source", v, sizeof v, &err), 1);
		CHECK_EQ_S(v, "perf.data");
		hv_store_close(st);
	}
	unlink(path);
	unlink(db);
}

int main(void)
{
	char dir[] = "/tmp/hvtrace-perfw-XXXXXX";
	if (!mkdtemp(dir)) {
		tap_skip("perfw", "cannot make a temporary directory");
		return 0;
	}
	check_order(dir, 0);
	check_order(dir, 1);
	facts(dir, 0);
	facts(dir, 1);
	errors(dir);
	rmdir(dir);
	return tap_exit();
}
