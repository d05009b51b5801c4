-- control_header_many: every client copy of X-Egress-Route is removed,
-- however many there are (regression: the 17th once escaped deletion),
-- and an outbound message accepted unsigned still loses them.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.81")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "CTRL2")
rcpt(conn)
header(conn, "From", "alice@acme.example")
for i = 1, 14 do
	header(conn, "X-Egress-Route", "copy " .. i)
end
eoh(conn)
body(conn, "body\r\n")
eom(conn, SMFIR_ACCEPT)
for i = 1, 14 do
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Egress-Route", i),
	    "X-Egress-Route index " .. i .. " was not deleted")
end
expect_signed(conn, "acme.example", ACME_SIGS)
mt.disconnect(conn)
