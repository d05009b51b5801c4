-- header_cap: milter.max_headers = 16 (run.sh's config); a message with
-- 20 headers is refused with a 5xx reply (552 5.3.4) and a message with
-- exactly 16 headers is signed. On a unix socket the milter asks for no
-- reply to each header (SMFIP_NR_HDR), so the refusal comes at end of
-- headers; the log (run.sh) still says which cap.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.100")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "HDRCAP1")
rcpt(conn)
header(conn, "From", "alice@acme.example")
check(mt.test_option(conn, SMFIP_NR_HDR),
    "the milter did not ask for no replies to headers on a unix socket")
for n = 2, 20 do
	header(conn, "X-Filler-" .. n, "value " .. n)	-- no reply: CONTINUE
end
eoh(conn, SMFIR_REPLYCODE)
mt.disconnect(conn)

-- exactly 16 headers, a control header among them: within the cap
-- (control headers count too, so a flood of them is refused as well)
conn = open("192.0.2.100")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "HDRCAP2")
rcpt(conn)
header(conn, "From", "alice@acme.example")
header(conn, "X-Egress-Route", "ignored")
for n = 3, 16 do
	header(conn, "X-Filler-" .. n, "value " .. n)
end
eoh(conn)
body(conn, "sixteen headers\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "acme.example", ACME_SIGS)
mt.disconnect(conn)

-- a flood of control headers is refused at the cap like any header
conn = open("192.0.2.100")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "HDRCAP3")
rcpt(conn)
header(conn, "From", "alice@acme.example")
for n = 2, 16 do
	header(conn, "X-Egress-Route", "flood " .. n)
end
header(conn, "X-Egress-Route", "flood 17")
eoh(conn, SMFIR_REPLYCODE)	-- the 17th header (a control header)
mt.disconnect(conn)
