#!/usr/bin/python3
"""mkcorpus_dns.py - write the seed replies of fuzz_dns into corpus/dns/

   /usr/bin/python3 tests/fuzz/mkcorpus_dns.py [DIR]

Each seed is a reply to a TXT query for txt.fuzz.test (FUZZ_KEY in
fuzz_dns.c), packed by hand so that the odd ones (compression loops,
overrunning lengths, truncation) can be made at all. Well-formed seeds are
checked with dnspython when it is there. The files are committed; run this
again only to change them."""
import os
import struct
import sys

QNAME = "txt.fuzz.test"
T_A, T_NS, T_CNAME, T_SOA, T_TXT, T_OPT = 1, 2, 5, 6, 16, 41


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ptr(off):
    return struct.pack("!H", 0xC000 | off)


def header(rcode=0, tc=0, qd=1, an=0, ns=0, ar=0, qid=0x1234):
    flags = 0x8000 | 0x0400 | 0x0100 | 0x0080 | (tc << 9) | rcode
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(n=QNAME, qtype=T_TXT):
    return name(n) + struct.pack("!HH", qtype, 1)


def rr(owner, rtype, rdata, ttl=300, cls=1):
    return owner + struct.pack("!HHIH", rtype, cls, ttl, len(rdata)) + rdata


def txt(*strings):
    out = b""
    for s in strings:
        b = s.encode() if isinstance(s, str) else s
        out += bytes([len(b)]) + b
    return out


def soa(mname, rname, minimum=900):
    return mname + rname + struct.pack("!IIIII", 2026, 7200, 3600,
                                       1209600, minimum)


def opt(ext_rcode=0, size=1232):
    return b"\0" + struct.pack("!HHIH", T_OPT, size, ext_rcode << 24, 0)


Q = 12                       # offset of the question name: pointer target
FUZZ = Q + 4                 # "fuzz.test" inside the question name
TEST = Q + 9                 # "test"


def seeds():
    s = {}
    # one record, one string, compressed owner
    s["txt-one"] = (header(an=1) + question() +
                    rr(ptr(Q), T_TXT, txt("v=DMARC1; p=reject")))
    # two records, the first of three strings; EDNS0 OPT in additional
    s["txt-multi"] = (header(an=2, ar=1) + question() +
                      rr(ptr(Q), T_TXT, txt("v=DKIM1; k=rsa; ",
                                            "p=MIIBIjANBgkq", "hkiG9w0B"),
                         ttl=3600) +
                      rr(ptr(Q), T_TXT, txt("second"), ttl=120) + opt())
    # a 255-octet string and an empty one
    s["txt-long"] = (header(an=1) + question() +
                     rr(ptr(Q), T_TXT, txt("x" * 255, "", "y" * 100)))
    # owner in upper case, uncompressed
    s["txt-case"] = (header(an=1) + question() +
                     rr(name("TXT.Fuzz.TEST"), T_TXT, txt("case")))
    # CNAME chain txt -> a -> b, TXT at b; targets compressed
    body = header(an=3) + question()
    a_off = len(body) + 2 + 10
    body += rr(ptr(Q), T_CNAME, b"\1a" + ptr(FUZZ), ttl=60)
    b_off = len(body) + 2 + 10
    body += rr(ptr(a_off), T_CNAME, b"\1b" + ptr(FUZZ), ttl=600)
    body += rr(ptr(b_off), T_TXT, txt("at the end of the chain"))
    s["cname-chain"] = body
    # CNAME loop: txt -> a -> txt
    body = header(an=2) + question()
    a_off = len(body) + 2 + 10
    body += rr(ptr(Q), T_CNAME, b"\1a" + ptr(FUZZ))
    body += rr(ptr(a_off), T_CNAME, ptr(Q))
    s["cname-loop"] = body
    # a chain of 10 links (more than DNS_CHAIN_MAX)
    body = header(an=10) + question()
    prev = name(QNAME)
    for i in range(10):
        nxt = name("c%d.fuzz.test" % i)
        body += rr(prev, T_CNAME, nxt)
        prev = nxt
    s["cname-long"] = body
    # NXDOMAIN with the zone's SOA (compressed names)
    s["nxdomain-soa"] = (header(rcode=3, ns=1) + question() +
                         rr(ptr(FUZZ), T_SOA,
                            soa(b"\2ns" + ptr(FUZZ),
                                b"\x0ahostmaster" + ptr(FUZZ), 300),
                            ttl=3600))
    # NODATA: NOERROR, no answer, SOA; an NS record before it
    s["nodata-soa"] = (header(ns=2) + question() +
                       rr(ptr(FUZZ), T_NS, b"\2ns" + ptr(FUZZ)) +
                       rr(ptr(FUZZ), T_SOA,
                          soa(name("ns.fuzz.test"),
                              name("hostmaster.fuzz.test"), 5)))
    # NXDOMAIN without an SOA
    s["nxdomain-bare"] = header(rcode=3) + question()
    # NODATA with an A record in the answer (another type)
    s["nodata-a"] = (header(an=1) + question() +
                     rr(ptr(Q), T_A, bytes([192, 0, 2, 1])))
    # truncated (TC) reply, and a reply cut short in an RR's data
    s["tc"] = header(tc=1) + question()
    whole = s["txt-multi"]
    s["cut"] = whole[:len(whole) - 30]
    # a TXT string longer than its rdata
    s["txt-overrun"] = (header(an=1) + question() +
                        rr(ptr(Q), T_TXT, b"\x20short"))
    # a TXT record holding a NUL octet, next to a good one
    s["txt-nul"] = (header(an=2) + question() +
                    rr(ptr(Q), T_TXT, txt(b"a\0b")) +
                    rr(ptr(Q), T_TXT, txt("good")))
    # a compression pointer to itself, in the answer's owner
    body = header(an=1) + question()
    body += ptr(len(body)) + struct.pack("!HHIH", T_TXT, 1, 300, 2) + \
        txt("x")
    s["ptr-loop"] = body
    # a pointer forward, past the end of the message
    s["ptr-out"] = (header(an=1) + question() +
                    rr(ptr(0x3fff), T_TXT, txt("x")))
    # SERVFAIL, and an OPT record with an extended rcode (BADVERS)
    s["servfail"] = header(rcode=2) + question()
    s["badvers"] = (header(an=1, ar=1) + question() +
                    rr(ptr(Q), T_TXT, txt("x")) + opt(ext_rcode=1))
    # a TTL with the high bit set (counts as 0), class CH ignored
    s["ttl-high"] = (header(an=2) + question() +
                     rr(ptr(Q), T_TXT, txt("hi"), ttl=0x80000001) +
                     rr(ptr(Q), T_TXT, txt("chaos"), cls=3))
    # an SOA whose fixed part is short
    s["soa-short"] = (header(rcode=3, ns=1) + question() +
                      rr(ptr(FUZZ), T_SOA, name("ns.fuzz.test") +
                         name("h.fuzz.test") + b"\0" * 12))
    return s


BROKEN = {"cname-loop", "cname-long", "tc", "cut", "txt-overrun",
          "ptr-loop", "ptr-out", "soa-short", "txt-nul"}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "corpus", "dns")
    os.makedirs(out, exist_ok=True)
    try:
        import dns.message
    except ImportError:
        dns = None
    for label, wire in sorted(seeds().items()):
        if dns is not None and label not in BROKEN:
            dns.message.from_wire(wire)     # raises if not well-formed
        with open(os.path.join(out, label), "wb") as f:
            f.write(wire)
    return 0


if __name__ == "__main__":
    sys.exit(main())
