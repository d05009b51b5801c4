-- rl_rcpt: a recipient limit refuses the recipient over it, not the message
--
-- Tenant gamma (login carol): recipients "3/1h" per tenant. Message 1
-- takes 2 recipients; message 2's first recipient is the 3rd (accepted),
-- its second the 4th: 451 for that recipient only, and the message goes
-- on, signed. Message 3: its first recipient is refused at once.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.60")
local function msg(qid, rcpts, wants)
	mail(conn, "<carol@gamma.example>", SMFIR_CONTINUE,
	    "{auth_authen}", "carol", "i", qid)
	for i, r in ipairs(rcpts) do
		rcpt(conn, r, wants[i])
	end
end

msg("RLRCPT1", { "<a@dest.example>", "<b@dest.example>" },
    { SMFIR_CONTINUE, SMFIR_CONTINUE })
headers(conn, { { "From", "carol@gamma.example" }, { "Subject", "1" } })
eoh(conn)
body(conn, "one\r\n")
eom(conn, SMFIR_ACCEPT)

msg("RLRCPT2", { "<c@dest.example>", "<d@dest.example>" },
    { SMFIR_CONTINUE, SMFIR_REPLYCODE })
headers(conn, { { "From", "carol@gamma.example" }, { "Subject", "2" } })
eoh(conn)
body(conn, "two\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "gamma.example", BETA_SIGS)

msg("RLRCPT3", { "<e@dest.example>" }, { SMFIR_REPLYCODE })
mt.disconnect(conn)
