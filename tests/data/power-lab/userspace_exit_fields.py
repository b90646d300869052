# perf script -s: print every kvm:kvm_userspace_exit with its raw fields, as perf decodes them
def kvm__kvm_userspace_exit(event_name, context, common_cpu, common_secs, common_nsecs, common_pid,
                            common_comm, common_callchain, reason, errno, perf_sample_dict=None):
    if errno >= 1 << 31:
        errno -= 1 << 32
    print("%d %d %d %d" % (common_secs * 1000000000 + common_nsecs, common_cpu, reason, errno))
