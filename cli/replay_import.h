/*
 * `hvtrace replay FILE` where FILE is a recording (perf.data, trace-cmd trace.dat) rather than
 * a trace database: import it into a temporary database first (replay_import.c), replay that,
 * and remove it afterwards.
 */
#ifndef HV_CLI_REPLAY_IMPORT_H
#define HV_CLI_REPLAY_IMPORT_H

#include <stddef.h>

struct replay_tmp {
	char dir[4096];		/* the temporary directory ("" when nothing was imported) */
	char db[4200];		/* the database in it */
};

/* 0: path is not a recording (replay it as a database); 1: imported, t->db is the database to
 * replay; HV_EXIT_USAGE: the import failed (the message was printed). A truncated recording
 * imports its complete part with a warning. */
int replay_import(const char *path, struct replay_tmp *t);
/* Remove the temporary database and directory (nothing when none was made). */
void replay_import_cleanup(struct replay_tmp *t);

#endif
