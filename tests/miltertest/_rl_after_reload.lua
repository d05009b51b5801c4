-- _rl_after_reload: after SIGHUP the rate-limit counters are still there
-- (run by run.sh after the scenarios and a reload, not as a scenario)
--
-- rl_rcpt.lua spent gamma's 3 recipients an hour and rl_refund.lua dave's
-- one message an hour: both are still refused at RCPT on the new snapshot.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.65")
mail(conn, "<carol@gamma.example>", SMFIR_CONTINUE, "{auth_authen}",
    "carol", "i", "RLHUP1")
rcpt(conn, "<z@dest.example>", SMFIR_REPLYCODE)
check(mt.abort(conn) == nil, "mt.abort failed")
mail(conn, "<dave@delta.example>", SMFIR_CONTINUE, "{auth_authen}",
    "dave", "i", "RLHUP2")
rcpt(conn, "<z@dest.example>", SMFIR_REPLYCODE)
mt.disconnect(conn)
