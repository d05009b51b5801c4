-- control_header: client copies of X-Egress-Route and X-Egress-DMARC are
-- removed
--
-- The client sends X-Egress-Route twice (in different spellings) and a
-- forged X-Egress-DMARC verdict; end of message deletes all three
-- (X-Egress-Route indexes 1 and 2, X-Egress-DMARC index 1) and still
-- signs.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.80")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "CTRL1")
rcpt(conn)
header(conn, "X-Egress-Route", "pool=premium")
header(conn, "From", "alice@acme.example")
header(conn, "To", "<rcpt@dest.example>")
header(conn, "x-egress-route", "pool=other")
header(conn, "X-EGRESS-DMARC", "pass (forged by the client)")
header(conn, "Subject", "control header")
eoh(conn)
body(conn, "body\r\n")
eom(conn, SMFIR_ACCEPT)
check(mt.eom_check(conn, MT_HDRDELETE, "X-Egress-Route"),
    "X-Egress-Route was not deleted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Egress-Route", 1),
    "the first X-Egress-Route (index 1) was not deleted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Egress-Route", 2),
    "the second X-Egress-Route (index 2) was not deleted")
check(not mt.eom_check(conn, MT_HDRDELETE, "X-Egress-Route", 3),
    "a third X-Egress-Route (index 3) was deleted")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Egress-DMARC", 1),
    "the forged X-Egress-DMARC (index 1) was not deleted")
check(not mt.eom_check(conn, MT_HDRDELETE, "X-Egress-DMARC", 2),
    "an X-Egress-DMARC at index 2 was deleted")
check(not mt.eom_check(conn, MT_HDRDELETE, "From"),
    "From was deleted")
expect_signed(conn, "acme.example", ACME_SIGS)
mt.disconnect(conn)
