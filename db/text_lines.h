/*
 * text_lines: a line reader over plain or zstd-compressed text files, for the text importer
 * (perf script / ftrace output is often kept as NAME.txt.zst). Lines are returned without
 * their newline; a final line without a newline is returned too.
 */
#ifndef HV_TEXT_LINES_H
#define HV_TEXT_LINES_H

#include <stddef.h>
#include <stdint.h>

struct hv_lines;

/* 0, or -1 with errno set (or EILSEQ for a corrupt zstd frame at open). */
int hv_lines_open(const char *path, struct hv_lines **out);
/* 1 with the line in *line and *len (valid until the next call), 0 at the end, -1 on a read or zstd error. */
int hv_lines_next(struct hv_lines *l, const char **line, size_t *len);
/* Bytes of input consumed so far (for messages). */
uint64_t hv_lines_offset(const struct hv_lines *l);
int hv_lines_compressed(const struct hv_lines *l);
void hv_lines_close(struct hv_lines *l);

#endif
