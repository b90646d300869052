# Run inside perf (`perf script -s tests/sh/perfw_perf_dump.py -i FILE`): print every
# tracepoint sample as perf decoded it, one tab-separated line per event:
#   sys:name tid pid cpu time comm field=value ...
# (fields as libtraceevent returns them, including common_pid). Used by test_perf_export.sh,
# whose checker (perfw_check.py) compares each line with the store's row.
def trace_unhandled(event_name, context, fields, sample):
    s = sample['sample']
    out = [sample['ev_name'], str(s['tid']), str(s['pid']), str(s['cpu']), str(s['time']),
           sample.get('comm', '')]
    for k in sorted(fields):
        if k.startswith('common_') and k != 'common_pid':
            continue
        v = fields[k]
        out.append('%s=%s' % (k, v))
    print('\t'.join(out))
