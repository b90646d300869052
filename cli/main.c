/*
 * hvtrace: the command that ties the stages together.
 *
 * `hvtrace SUBCOMMAND [options]`. Each subcommand lives in cli/cmd_<name>.c and is listed in
 * the table below. Exit codes: 0 ok, 1 checks failed (violations), 2 usage or input error.
 * Only cli/ prints to the user or exits; the libraries return error codes and messages.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct hv_cmd commands[] = {
	{ "import", "read a recorded trace (perf.data, trace.dat, text) into a new database", cmd_import },
	{ "info", "what a trace holds: time span, CPUs, events per type, lost windows, meta", cmd_info },
	{ "events", "print events in trace order, like perf script", cmd_events },
	{ "replay", "check a trace against the kernel's rules: violations and a summary per monitor", cmd_replay },
	{ "sql", "run an SQL query on a trace database", cmd_sql },
	{ "simulate", "run the host simulator with the gang-path model into a trace database", cmd_simulate },
	{ "demo-db", "write a small database from a built-in event sequence", cmd_demo_db },
	{ "perf-export", "write a trace as a perf.data file that perf script decodes", cmd_perf_export },
	{ "derive", "build the derived tables (guest runs, hcalls, blocks, waits, core windows)", cmd_derive },
	{ "stat", "perf kvm stat-like summary per VM and vcpu, with split modes, cede, blocks, waits", cmd_stat },
	{ "whatif", "replay the recorded demand under other micro-threading settings: one table", cmd_whatif },
	{ "report", "write an HTML report with figures and a text summary of a trace", cmd_report },
	{ "help", "list the subcommands, or show one's help", cmd_help },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hvtrace SUBCOMMAND [options] (hvtrace SUBCOMMAND --help for its options)\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int cmd_help(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: hvtrace help [SUBCOMMAND]\n\nList the subcommands, or show the help of one.\n");
		return HV_EXIT_OK;
	}
	if (argc > 1) {
		for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strcmp(commands[i].name, argv[1]) == 0) {
				char *args[] = { argv[1], "--help", NULL };
				return commands[i].run(2, args);
			}
		fprintf(stderr, "hvtrace: no subcommand '%s'\n", argv[1]);
		return HV_EXIT_USAGE;
	}
	usage(stdout);
	return HV_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return HV_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(1, argv + 1);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "hvtrace: unknown subcommand '%s'\n\n", argv[1]);
	usage(stderr);
	return HV_EXIT_USAGE;
}
