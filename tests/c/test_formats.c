/*
 * The generated format texts are what a kernel would show in tracefs: libtraceevent parses
 * every one (the files under $BUILD/formats and the strings in hv_events[]), each field has
 * the name, offset, size and signedness of the one definition, the print format parses, and
 * the stock events (kvm_hv:*, kvm:kvm_userspace_exit) describe exactly the fields of a real
 * Linux 6.1 ppc64le kernel (tests/data/kernel-formats/linux-6.1-ppc64le.formats).
 */
#include <event-parse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_events.h"
#include "hv_store.h"
#include "tap.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int field_count(struct tep_event *e)
{
	int n = 0;
	for (struct tep_format_field *f = e->format.fields; f; f = f->next)
		n++;
	return n;
}

/* Compare the parsed event with the definition, field by field. */
static void check_against_def(struct tep_event *e, const struct hv_event_def *d)
{
	CHECK_EQ_I(field_count(e), d->nfields);
	struct tep_format_field *f = e->format.fields;
	for (unsigned i = 0; i < d->nfields && f; i++, f = f->next) {
		CHECK_EQ_S(f->name, d->fields[i].name);
		CHECK_EQ_I(f->offset, d->fields[i].offset);
		CHECK_EQ_I(f->size, d->fields[i].size);
		CHECK_EQ_I(!!(f->flags & TEP_FIELD_IS_SIGNED), d->fields[i].is_signed);
		if (d->fields[i].kind == HV_FK_STR)
			CHECK(f->flags & TEP_FIELD_IS_ARRAY);
	}
	CHECK(e->print_fmt.args != NULL || strchr(d->print_fmt, '%') == NULL);
	CHECK(!(e->flags & TEP_EVENT_FL_FAILED));
}

static void test_generated(const char *build)
{
	char path[4096];
	for (int i = 0; i < HV_EV_COUNT; i++) {
		const struct hv_event_def *d = &hv_events[i];
		char name[256];
		snprintf(name, sizeof name, "format file of %s:%s parses and matches the definition", d->system, d->name);
		TEST(name) {
			size_t len;
			snprintf(path, sizeof path, "%s/formats/%s/%s/format", build, d->system, d->name);
			char *text = slurp(path, &len);
			CHECK(text != NULL);
			if (!text)
				continue;
			CHECK_EQ_S(text, d->format);
			struct tep_handle *tep = tep_alloc();
			tep_set_long_size(tep, 8);
			enum tep_errno rc = tep_parse_event(tep, text, len, d->system);
			CHECK_EQ_I(rc, 0);
			struct tep_event *e = tep_find_event_by_name(tep, d->system, d->name);
			CHECK(e != NULL);
			if (e) {
				CHECK_EQ_S(e->name, d->name);
				CHECK_EQ_S(e->system, d->system);
				CHECK_EQ_I(e->id, d->id);
				check_against_def(e, d);
			}
			tep_free(tep);
			free(text);
		}
	}
}

/* The stock events of the real kernel's format file, parsed with libtraceevent. */
static void test_kernel(const char *top)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof path, "%s/tests/data/kernel-formats/linux-6.1-ppc64le.formats", top);
	char *all = slurp(path, &len);
	TEST("real kernel formats file is readable") CHECK(all != NULL);
	if (!all)
		return;
	int compared = 0;
	for (char *blk = strstr(all, "== "); blk; ) {
		char *next = strstr(blk + 3, "\n== ");
		char *nl = strchr(blk, '\n');
		if (!nl)
			break;
		char sysev[256];
		snprintf(sysev, sizeof sysev, "%.*s", (int)(nl - blk - 3), blk + 3);
		char *slash = strchr(sysev, '/');
		char *body = nl + 1;
		size_t blen = next ? (size_t)(next + 1 - body) : strlen(body);
		blk = next ? next + 1 : NULL;
		if (!slash)
			continue;
		*slash = 0;
		const struct hv_event_def *d = hv_event_find(sysev, slash + 1);
		if (!d)
			continue;	/* kvm events hvtrace does not define: imported from the file's format */
		char name[400];
		snprintf(name, sizeof name, "%s:%s has the real 6.1 kernel's fields, offsets, sizes, signedness", sysev, slash + 1);
		TEST(name) {
			struct tep_handle *tep = tep_alloc();
			tep_set_long_size(tep, 8);
			CHECK_EQ_I(tep_parse_event(tep, body, blen, sysev), 0);
			struct tep_event *e = tep_find_event_by_name(tep, sysev, slash + 1);
			CHECK(e != NULL);
			if (e)
				check_against_def(e, d);
			tep_free(tep);
			compared++;
		}
	}
	TEST("every stock kvm_hv event and kvm_userspace_exit was compared with the kernel") {
		int stock = 0;
		for (int i = 0; i < HV_EV_COUNT; i++)
			stock += !strcmp(hv_events[i].system, "kvm_hv") || !strcmp(hv_events[i].name, "kvm_userspace_exit");
		CHECK_EQ_I(stock, 12);
		CHECK_EQ_I(compared, stock);
	}
	free(all);
}

static void test_ddl(void)
{
	TEST("the store builds the same DDL from a definition as the generator") {
		char ddl[16384];
		for (int i = 0; i < HV_EV_COUNT; i++) {
			CHECK_EQ_I(hv_store_ddl(&hv_events[i], ddl, sizeof ddl), 0);
			CHECK_EQ_S(ddl, hv_events[i].ddl);
		}
	}
	TEST("symbol tables hold the spec's values") {
		CHECK_EQ_S(hv_trap_name(0x980), "HV_DECREMENTER");
		CHECK_EQ_S(hv_trap_name(0xe80), "H_DOORBELL");
		CHECK_EQ_S(hv_trap_name(0x1980), "NESTED_HV_DECREMENTER");
		CHECK_EQ_S(hv_hcall_name(0xe0), "H_CEDE");
		CHECK_EQ_S(hv_hcall_name(0xf804), "H_ENTER_NESTED");
		CHECK_EQ_S(hv_sym_name(&hv_sym_resume, 4), "RESUME_PAGE_FAULT");
		CHECK_EQ_S(hv_sym_name(&hv_sym_hcall_rc, -69), "H_INTERRUPT");
		CHECK_EQ_S(hv_sym_name(&hv_sym_kvm_exit_reasons, 19), "PAPR_HCALL");
		CHECK(hv_trap_name(0x123) == NULL);
	}
}

int main(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	const char *top = getenv("TOP") ? getenv("TOP") : ".";
	test_generated(build);
	test_kernel(top);
	test_ddl();
	return tap_exit();
}
