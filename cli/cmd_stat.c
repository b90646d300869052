/*
 * hvtrace stat DB [--json] [--vm TGID]: the perf kvm stat-like summary (db/hv_stat.h) as
 * aligned text tables or one JSON document. Reads the derived tables; a database without
 * them gets them first (hvtrace derive), saying so on stderr.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_derive.h"
#include "hv_stat.h"

static void help(FILE *f)
{
	fprintf(f, "usage: hvtrace stat DB [--json] [--vm TGID]\n\n"
		   "Summarise a trace like `perf kvm stat`, per VM and per vcpu, from the derived tables:\n"
		   "exits by trap (count, share, min/avg/max time to the vcpu's next guest entry), hcalls\n"
		   "by request (count, min/avg/max), per-vcpu runs and dispatch wait, the split modes of\n"
		   "the windows each VM ran in, late joins, cede (napping entries vs ceded vcore exits),\n"
		   "vcore blocks (poll vs sleep), dispatch wait p50/p99/max; for the host, split-mode\n"
		   "shares of core time, hardware-thread occupancy, piggyback rate, H_CEDE outcomes.\n"
		   "A database without derived tables gets them first (as hvtrace derive DB).\n"
		   "  --json       one JSON document: {\"host\": {tables}, \"vms\": [{tgid, name, tables}]},\n"
		   "               each table a list of objects keyed by column (times in us or ms)\n"
		   "  --vm TGID    only the VM whose VMM process is TGID\n"
		   "Exit status: 0 ok, 2 usage or input error (the message names the file).\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void cell_text(char *buf, size_t n, const struct hv_stat_cell *c)
{
	switch (c->type) {
	case 1: snprintf(buf, n, "%" PRId64, c->i); break;
	case 2: snprintf(buf, n, "%.3f", c->d); break;
	case 3: snprintf(buf, n, "%s", c->s); break;
	default: snprintf(buf, n, "-");
	}
}

static void json_cell(const struct hv_stat_cell *c)
{
	char buf[64];
	if (c->type == 3)
		json_str(c->s);
	else if (c->type == 0)
		fputs("null", stdout);
	else if (c->type == 1)
		printf("%" PRId64, c->i);
	else {
		snprintf(buf, sizeof buf, "%.17g", c->d);
		fputs(buf, stdout);
	}
}

static void json_table(const struct hv_stat_table *t)
{
	json_str(t->key);
	fputs(": [", stdout);
	for (int r = 0; r < t->nrows; r++) {
		fputs(r ? ", {" : "{", stdout);
		for (int c = 0; c < t->ncols; c++) {
			if (c)
				fputs(", ", stdout);
			json_str(t->cols[c]);
			fputs(": ", stdout);
			json_cell(&t->cells[r * t->ncols + c]);
		}
		putchar('}');
	}
	putchar(']');
}

static void print_json(const char *db, const struct hv_stat *s)
{
	fputs("{\"db\": ", stdout);
	json_str(db);
	fputs(", \"host\": {", stdout);
	for (int k = 0; k < s->g[0].nt; k++) {
		if (k)
			fputs(", ", stdout);
		json_table(&s->g[0].t[k]);
	}
	fputs("}, \"vms\": [", stdout);
	for (int i = 1; i < s->ngroups; i++) {
		printf("%s{\"tgid\": %d, \"name\": ", i > 1 ? ", " : "", (int)s->g[i].tgid);
		json_str(s->g[i].name);
		for (int k = 0; k < s->g[i].nt; k++) {
			fputs(", ", stdout);
			json_table(&s->g[i].t[k]);
		}
		putchar('}');
	}
	fputs("]}\n", stdout);
}

static void print_table(const struct hv_stat_table *t)
{
	int w[32] = { 0 };
	char buf[128];
	printf("  %s\n", t->title);
	if (!t->nrows) {
		printf("    (no data)\n");
		return;
	}
	for (int c = 0; c < t->ncols && c < 32; c++) {
		w[c] = (int)strlen(t->cols[c]);
		for (int r = 0; r < t->nrows; r++) {
			cell_text(buf, sizeof buf, &t->cells[r * t->ncols + c]);
			if ((int)strlen(buf) > w[c])
				w[c] = (int)strlen(buf);
		}
	}
	fputs("   ", stdout);
	for (int c = 0; c < t->ncols && c < 32; c++)
		printf(" %*s", w[c], t->cols[c]);
	putchar('\n');
	for (int r = 0; r < t->nrows; r++) {
		fputs("   ", stdout);
		for (int c = 0; c < t->ncols && c < 32; c++) {
			cell_text(buf, sizeof buf, &t->cells[r * t->ncols + c]);
			printf(" %*s", w[c], buf);
		}
		putchar('\n');
	}
}

static void print_text(const struct hv_stat *s)
{
	for (int i = 0; i < s->ngroups; i++) {
		if (i == 0)
			printf("Host\n");
		else
			printf("\nVM %d (%s)\n", (int)s->g[i].tgid, s->g[i].name);
		for (int k = 0; k < s->g[i].nt; k++)
			print_table(&s->g[i].t[k]);
	}
}

int cmd_stat(int argc, char **argv)
{
	const char *db = NULL;
	int json = 0;
	long vm = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return HV_EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--vm")) {
			char *end;
			if (++i >= argc)
				return cli_usage_error("stat", "--vm needs a TGID");
			vm = strtol(argv[i], &end, 10);
			if (end == argv[i] || *end || vm < 0 || vm > INT32_MAX)
				return cli_usage_error("stat", "--vm: bad TGID '%s'", argv[i]);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("stat", "unknown option '%s'", argv[i]);
		} else if (!db) {
			db = argv[i];
		} else {
			return cli_usage_error("stat", "unexpected argument '%s'", argv[i]);
		}
	}
	if (!db)
		return cli_usage_error("stat", "needs DB");
	struct hv_store *st = cli_open_db("stat", db, 0);
	if (!st)
		return HV_EXIT_USAGE;
	if (!hv_derive_present(st)) {
		hv_store_close(st);
		fprintf(stderr, "hvtrace stat: %s has no derived tables: building them (hvtrace derive)\n", db);
		if (cli_derive_file("stat", db, 1) != HV_EXIT_OK || !(st = cli_open_db("stat", db, 0)))
			return HV_EXIT_USAGE;
	}
	struct hv_stat s;
	struct hv_err err = { 0 };
	if (hv_stat_compute(st, (int32_t)vm, &s, &err) < 0) {
		hv_store_close(st);
		return cli_fail("stat", &err);
	}
	if (json)
		print_json(db, &s);
	else
		print_text(&s);
	hv_stat_free(&s);
	hv_store_close(st);
	return HV_EXIT_OK;
}
