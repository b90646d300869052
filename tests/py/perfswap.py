"""Test helper: rewrite a little-endian file-mode perf.data as a big-endian host would have
written it, section by section, so the big-endian paths of an importer (and perf itself) can
be tested with real recordings.

  python3 perfswap.py IN.data OUT.data

What is swapped: the file header (magic, sections, feature bitmap words); each attr field by
field, its flags bitfield with the bits of each byte reversed (C bitfields are allocated from
the most significant bit on big-endian ABIs) and its id list; the records SAMPLE (fields by
sample_type; the RAW tracepoint payload field by field following the event formats of the
tracing data, common header included), COMM, FORK, EXIT, LOST, LOST_SAMPLES and
FINISHED_ROUND/FINISHED_INIT with their sample_id trailers; the feature sections TRACING_DATA
(its endian flag set, every integer inside swapped), HOSTNAME, OSRELEASE, VERSION, ARCH,
NRCPUS, CPUDESC, CPUID, TOTAL_MEM, CMDLINE, EVENT_DESC and CPU_TOPOLOGY. Other records (MMAP,
MMAP2, ID_INDEX, THREAD_MAP, CPU_MAP, ...) and features are dropped: nothing about tracepoint
samples depends on them. Only what hvtrace's tests record is covered (tracepoints, 8-byte
long); it refuses what it does not understand instead of writing a wrong file."""
import re
import struct
import sys

PS = dict(IP=1, TID=2, TIME=4, ADDR=8, READ=16, CALLCHAIN=32, ID=64, CPU=128, PERIOD=256,
          STREAM_ID=512, RAW=1024, IDENTIFIER=1 << 16)
KEEP_FEATURES = {1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}


class Swapper:
    def __init__(self, src):
        self.s = src
        self.out = bytearray(src)      # same-size sections are swapped in place

    # ---- primitives: read little-endian at o from the source, write big-endian into buf ----
    def u(self, fmt, o):
        return struct.unpack_from("<" + fmt, self.s, o)[0]

    @staticmethod
    def put(buf, fmt, o, v):
        struct.pack_into(">" + fmt, buf, o, v)

    def sw(self, buf, src, o, fmt):
        """swap one integer of struct format fmt at o from src (LE) into buf (BE)"""
        v = struct.unpack_from("<" + fmt, src, o)[0]
        struct.pack_into(">" + fmt, buf, o, v)

    def sw_many(self, buf, src, o, fmt, n):
        size = struct.calcsize(fmt)
        for i in range(n):
            self.sw(buf, src, o + i * size, fmt)

    # ---- attrs ----
    @staticmethod
    def bitrev_bytes(v):
        out = 0
        for b in range(8):
            x = (v >> (8 * b)) & 0xff
            y = int("{:08b}".format(x)[::-1], 2)
            out |= y << (8 * b)
        return out

    def swap_attr(self, buf, src, o, size):
        if size < 64:
            raise ValueError("attr too small")
        self.sw_many(buf, src, o, "I", 2)
        self.sw_many(buf, src, o + 8, "Q", 4)               # config .. read_format
        # bitfields: a big-endian ABI allocates them from the most significant bit of each
        # byte: the same bytes in the same places, the bits of each byte reversed
        flags = struct.unpack_from("<Q", src, o + 40)[0]
        struct.pack_into("<Q", buf, o + 40, self.bitrev_bytes(flags))
        self.sw_many(buf, src, o + 48, "I", 2)              # wakeup_events, bp_type
        self.sw(buf, src, o + 56, "Q")                      # config1
        # the rest of the ABI, as far as this attr has it
        layout = [(64, "Q"), (72, "Q"), (80, "Q"), (88, "I"), (92, "i"), (96, "Q"), (104, "I"),
                  (108, "H"), (110, "H"), (112, "I"), (116, "I"), (120, "Q"), (128, "Q")]
        for off, fmt in layout:
            if off + struct.calcsize(fmt) <= size:
                self.sw(buf, src, o + off, fmt)
        return struct.unpack_from("<Q", src, o + 24)[0]     # sample_type

    # ---- tracing data ----
    def swap_tracing(self, o, n):
        s, buf = self.s, bytearray(self.s[o:o + n])
        base = o
        src = s[o:o + n]
        p = 10
        z = s.index(b"\0", base + p) - base
        version = s[base + p:base + z].decode()
        p = z + 1
        buf[p] = 1                                          # big-endian
        long_size = s[base + p + 1]
        if long_size != 8:
            raise ValueError("only 8-byte long recordings are covered")
        p += 2
        self.sw(buf, src, p, "I")
        p += 4
        formats = {}
        for name in (b"header_page\0", b"header_event\0"):
            assert s[base + p:base + p + len(name)] == name
            p += len(name)
            size = self.u("Q", base + p)
            self.sw(buf, src, p, "Q")
            p += 8 + size
        cnt = self.u("I", base + p)
        self.sw(buf, src, p, "I")
        p += 4
        for _ in range(cnt):
            size = self.u("Q", base + p)
            self.sw(buf, src, p, "Q")
            p += 8 + size
        nsys = self.u("I", base + p)
        self.sw(buf, src, p, "I")
        p += 4
        for _ in range(nsys):
            p = s.index(b"\0", base + p) - base + 1
            cnt = self.u("I", base + p)
            self.sw(buf, src, p, "I")
            p += 4
            for _ in range(cnt):
                size = self.u("Q", base + p)
                self.sw(buf, src, p, "Q")
                text = s[base + p + 8:base + p + 8 + size].decode()
                p += 8 + size
                m = re.search(r"^ID: (\d+)", text, re.M)
                if m:
                    formats[int(m.group(1))] = parse_format(text)
        size = self.u("I", base + p)                        # kallsyms
        self.sw(buf, src, p, "I")
        p += 4 + size
        size = self.u("I", base + p)                        # printk formats
        self.sw(buf, src, p, "I")
        p += 4 + size
        if version >= "0.6" and p + 8 <= n:
            self.sw(buf, src, p, "Q")
        self.formats = formats
        return bytes(buf)

    # ---- records ----
    def swap_trailer(self, buf, src, o, end, st):
        """sample_id trailer ending at end: TID, TIME, ID, STREAM_ID, CPU, IDENTIFIER"""
        fields = [("TID", "II"), ("TIME", "Q"), ("ID", "Q"), ("STREAM_ID", "Q"), ("CPU", "II"),
                  ("IDENTIFIER", "Q")]
        fields = [f for f in fields if st & PS[f[0]]]
        p = end - 8 * len(fields)
        for _, fmt in fields:
            if fmt == "II":
                self.sw_many(buf, src, p, "I", 2)
            else:
                self.sw(buf, src, p, "Q")
            p += 8
        return end - 8 * len(fields)

    def swap_raw(self, buf, src, o, size):
        ctype = struct.unpack_from("<H", src, o)[0]
        fields = self.formats.get(ctype)
        if fields is None:
            raise ValueError("RAW payload of unknown event id %d" % ctype)
        for off, fsize, elem, dyn in fields:
            if off + fsize > size:
                raise ValueError("field outside payload")
            if dyn:
                self.sw(buf, src, o + off, "I")
            elif elem in (2, 4, 8):
                self.sw_many(buf, src, o + off, {2: "H", 4: "I", 8: "Q"}[elem], fsize // elem)

    def swap_sample(self, buf, src, o, n, st):
        p = o + 8
        for name in ("IDENTIFIER", "IP", "TID", "TIME", "ADDR", "ID", "STREAM_ID", "CPU", "PERIOD"):
            if st & PS[name]:
                if name in ("TID", "CPU"):
                    self.sw_many(buf, src, p, "I", 2)
                else:
                    self.sw(buf, src, p, "Q")
                p += 8
        if st & (PS["READ"] | PS["CALLCHAIN"]):
            raise ValueError("READ/CALLCHAIN samples are not covered")
        if st & PS["RAW"]:
            size = struct.unpack_from("<I", src, p)[0]
            self.sw(buf, src, p, "I")
            self.swap_raw(buf, src, p + 4, size)
            p += 4 + size
        if p != o + n:
            raise ValueError("sample layout not covered (sample_type %#x)" % st)

    def swap_record(self, o, st):
        s = self.s
        typ, misc, n = struct.unpack_from("<IHH", s, o)
        rec = bytearray(s[o:o + n])
        self.sw(rec, s[o:], 0, "I")
        self.sw(rec, s[o:], 4, "H")
        self.sw(rec, s[o:], 6, "H")
        src = s[o:o + n]
        if typ == 9:
            if st & PS["IDENTIFIER"]:
                st = self.by_id[struct.unpack_from("<Q", src, 8)[0]]
            elif st & PS["ID"]:
                pos = 8 + 8 * sum(1 for k in ("IP", "TID", "TIME", "ADDR") if st & PS[k])
                st = self.by_id[struct.unpack_from("<Q", src, pos)[0]]
            self.swap_sample(rec, src, 0, n, st)
        elif typ == 3:                                       # COMM
            self.sw_many(rec, src, 8, "I", 2)
            self.swap_trailer(rec, src, 0, n, st)
        elif typ in (4, 7):                                  # EXIT, FORK
            self.sw_many(rec, src, 8, "I", 4)
            self.sw(rec, src, 24, "Q")
            self.swap_trailer(rec, src, 0, n, st)
        elif typ == 2:                                       # LOST
            self.sw_many(rec, src, 8, "Q", 2)
            self.swap_trailer(rec, src, 0, n, st)
        elif typ == 13:                                      # LOST_SAMPLES
            self.sw(rec, src, 8, "Q")
            self.swap_trailer(rec, src, 0, n, st)
        elif typ in (68, 82):                                # FINISHED_ROUND, FINISHED_INIT
            pass
        else:
            return None
        return bytes(rec)

    # ---- features ----
    def swap_strings(self, buf, src, p, count):
        for _ in range(count):
            ln = struct.unpack_from("<I", src, p)[0]
            self.sw(buf, src, p, "I")
            p += 4 + ln
        return p

    def swap_feature(self, feat, o, n):
        s = self.s
        src = s[o:o + n]
        buf = bytearray(src)
        if feat == 1:
            return self.swap_tracing(o, n)
        if feat in (3, 4, 5, 6, 8, 9):
            self.swap_strings(buf, src, 0, 1)
        elif feat == 7:
            self.sw_many(buf, src, 0, "I", 2)
        elif feat == 10:
            self.sw(buf, src, 0, "Q")
        elif feat == 11:
            nr = struct.unpack_from("<I", src, 0)[0]
            self.sw(buf, src, 0, "I")
            self.swap_strings(buf, src, 4, nr)
        elif feat == 12:
            nre, sz = struct.unpack_from("<II", src, 0)
            self.sw_many(buf, src, 0, "I", 2)
            p = 8
            for _ in range(nre):
                self.swap_attr(buf, src, p, sz)
                p += sz
                nid = struct.unpack_from("<I", src, p)[0]
                self.sw(buf, src, p, "I")
                p = self.swap_strings(buf, src, p + 4, 1)
                self.sw_many(buf, src, p, "Q", nid)
                p += 8 * nid
        elif feat == 13:
            p = 0
            for _ in range(2):                               # core, thread sibling lists
                nr = struct.unpack_from("<I", src, p)[0]
                self.sw(buf, src, p, "I")
                p = self.swap_strings(buf, src, p + 4, nr)
            ncpu = self.ncpus
            if p + 8 * ncpu <= n:                            # core_id, socket_id per cpu
                self.sw_many(buf, src, p, "I", 2 * ncpu)
                p += 8 * ncpu
                if p + 4 <= n:                               # die sibling lists + die ids
                    nr = struct.unpack_from("<I", src, p)[0]
                    self.sw(buf, src, p, "I")
                    p = self.swap_strings(buf, src, p + 4, nr)
                    self.sw_many(buf, src, p, "I", min(ncpu, (n - p) // 4))
        return bytes(buf)

    # ---- the whole file ----
    def run(self):
        s, out = self.s, self.out
        if s[:8] != b"PERFILE2" or self.u("Q", 8) != 104:
            raise ValueError("not a little-endian file-mode perf.data")
        attr_size, aoff, asz, doff, dsz = (self.u("Q", 16 + 8 * i) for i in range(5))
        feats = [self.u("Q", 72 + 8 * i) for i in range(4)]
        out[0:8] = b"2ELIFREP"
        for i in range(1, 13):
            self.sw(out, s, 8 * i, "Q")
        st, self.by_id = None, {}
        for a in range(aoff, aoff + asz, attr_size):
            t = self.swap_attr(out, s, a, attr_size - 16)
            st = t if st is None else st
            if not t & (PS["IDENTIFIER"] | PS["ID"]) and asz > attr_size:
                raise ValueError("several attrs without sample ids are not covered")
            ioff, isz = self.u("Q", a + attr_size - 16), self.u("Q", a + attr_size - 8)
            self.sw_many(out, s, a + attr_size - 16, "Q", 2)
            self.sw_many(out, s, ioff, "Q", isz // 8)
            for i in range(isz // 8):
                self.by_id[self.u("Q", ioff + 8 * i)] = t
        # features first: the tracing data gives the formats the records need
        fo, k, feat_out = doff + dsz, 0, []
        self.ncpus = 0
        bits = [b for b in range(256) if (feats[b // 64] >> (b % 64)) & 1]
        for b in bits:
            o, n = self.u("Q", fo + 16 * k), self.u("Q", fo + 16 * k + 8)
            k += 1
            if b == 7:
                self.ncpus = self.u("I", o)
            if b in KEEP_FEATURES:
                feat_out.append((b, o, n))
        feat_out = [(b, self.swap_feature(b, o, n)) for b, o, n in sorted(feat_out, key=lambda x: x[0] != 7)]
        feat_out.sort()
        data = bytearray()
        o = doff
        while o < doff + dsz:
            n = self.u("H", o + 6)
            rec = self.swap_record(o, st)
            if rec is not None:
                data += rec
            o += n
        # layout: everything before the data as it was, the new data, the feature table
        img = bytearray(out[:doff]) + data
        table_off = len(img)
        img += bytes(16 * len(feat_out))
        newfeats = [0, 0, 0, 0]
        for i, (b, body) in enumerate(feat_out):
            struct.pack_into(">QQ", img, table_off + 16 * i, len(img), len(body))
            img += body
            newfeats[b // 64] |= 1 << (b % 64)
        struct.pack_into(">Q", img, 48, len(data))
        for i in range(4):
            struct.pack_into(">Q", img, 72 + 8 * i, newfeats[i])
        return bytes(img)


def parse_format(text):
    """[(offset, size, element size or 0 for strings/char, is __data_loc)] of every field"""
    out = []
    for m in re.finditer(r"field:([^;]*);\s*offset:(\d+);\s*size:(\d+);", text):
        decl, off, size = m.group(1), int(m.group(2)), int(m.group(3))
        dyn = "__data_loc" in decl or "__rel_loc" in decl
        arr = re.search(r"\[(\d*)\]", decl)
        if dyn:
            elem = 0
        elif arr:
            elem = 0 if re.match(r"^\s*(unsigned\s+)?char\b|^\s*(u8|s8|__u8)\b", decl) else \
                size // int(arr.group(1)) if arr.group(1) else 0
        else:
            elem = size if size in (1, 2, 4, 8) else 0
        out.append((off, size, elem if elem in (2, 4, 8) else 0, dyn))
    return out


def swap_file(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    img = Swapper(data).run()
    with open(dst, "wb") as f:
        f.write(img)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: perfswap.py IN.data OUT.data")
    swap_file(sys.argv[1], sys.argv[2])
