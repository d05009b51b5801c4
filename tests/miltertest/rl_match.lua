-- rl_match: a global limit on one recipient domain, and a tenant override
--
-- Global "throttle": 1 recipient a day at throttled.example, all tenants
-- together. zed's first recipient there is accepted, the second refused;
-- a recipient elsewhere is not limited. Tenant eta disables "throttle":
-- its recipients at throttled.example all pass.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.64")
mail(conn, "<zed@zeta.example>", SMFIR_CONTINUE, "{auth_authen}", "zed",
    "i", "RLMATCH1")
rcpt(conn, "<a@throttled.example>")
rcpt(conn, "<b@THROTTLED.example>", SMFIR_REPLYCODE)
rcpt(conn, "<c@other.example>")
check(mt.abort(conn) == nil, "mt.abort failed")

mail(conn, "<eta@eta.example>", SMFIR_CONTINUE, "{auth_authen}", "eta",
    "i", "RLMATCH2")
for _, r in ipairs({ "<d@throttled.example>", "<e@throttled.example>",
    "<f@throttled.example>" }) do
	rcpt(conn, r)
end
mt.disconnect(conn)
