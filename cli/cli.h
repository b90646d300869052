/*
 * Shared pieces of the hvtrace command: the subcommand table entry, exit codes, and small
 * helpers for option parsing and printing events (cli/util.c).
 */
#ifndef HV_CLI_H
#define HV_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "hv_store.h"

enum { HV_EXIT_OK = 0, HV_EXIT_CHECKS = 1, HV_EXIT_USAGE = 2 };

struct hv_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the subcommand name */
};

int cmd_import(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_demo_db(int argc, char **argv);
int cmd_perf_export(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_whatif(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_derive(int argc, char **argv);
int cmd_stat(int argc, char **argv);
/* Build the derived tables of st / of the database at path (cli/cmd_derive.c); exit code. */
int cli_derive(const char *cmd, struct hv_store *st, const char *profile, int quiet);
int cli_derive_file(const char *cmd, const char *path, int quiet);

/* Print "hvtrace CMD: msg" to stderr and return HV_EXIT_USAGE. */
int cli_fail(const char *cmd, const struct hv_err *err);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse a time like 12.5, 12.5s, 300ms, 40us, 1000ns (seconds by default) into ns. */
int cli_parse_time(const char *s, uint64_t *ns);
/* Open a database for reading; on failure print and return NULL. */
struct hv_store *cli_open_db(const char *cmd, const char *path, int writable);
/* Task names of a trace (the task table), for printing. */
struct cli_task {
	int32_t pid;
	char comm[32];
};
struct cli_tasks {
	struct cli_task *v;
	int n, cap;
};
int cli_tasks_load(struct cli_tasks *t, struct hv_store *st);
void cli_tasks_free(struct cli_tasks *t);
const char *cli_task_comm(const struct cli_tasks *t, int32_t pid);
/* One event as a perf-script-like line: task pid [cpu] secs.usecs: system:event: fields. */
void cli_print_row(FILE *f, const struct cli_tasks *tasks, const struct hv_row *row);
/* Value of field `name` in row as text for printing (decoded symbols where hvtrace has them). */
void cli_format_field(char *buf, size_t n, const struct hv_field_def *fd, const struct hv_value *v);

#endif
