-- header_cap: milter.max_headers = 16 (run.sh's config); a message with
-- 20 headers is refused with a 5xx reply (552 5.3.4) at the 17th header
-- and a message with exactly 16 headers is signed
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.100")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "HDRCAP1")
rcpt(conn)
header(conn, "From", "alice@acme.example")
local refused_at
for n = 2, 20 do
	check(mt.header(conn, "X-Filler-" .. n, " value " .. n) == nil,
	    "mt.header(X-Filler-%d) failed", n)
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		check(r == SMFIR_REPLYCODE,
		    "header %d: expected SMFIR_REPLYCODE, got %s", n,
		    reply_name(r))
		refused_at = n
		break
	end
end
check(refused_at ~= nil, "20 headers were all accepted (cap is 16)")
check(refused_at == 17, "expected the refusal at header 17, got it at %d",
    refused_at)
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
check(mt.header(conn, "X-Egress-Route", "flood 17") == nil,
    "sending header 17 failed")
check(mt.getreply(conn) == SMFIR_REPLYCODE,
    "the 17th header (a control header) was not refused")
mt.disconnect(conn)
