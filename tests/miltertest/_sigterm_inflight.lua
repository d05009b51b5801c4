-- _sigterm_inflight: SIGTERM arrives while a message is half sent; the
-- message still completes and is signed before the milter exits.
-- Run by run.sh at the very end (it stops the shared milter), with
-- -D MILTER_PID=<pid>.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.99")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "INFLIGHT1")
rcpt(conn)
header(conn, "From", "alice@acme.example")
header(conn, "Subject", "in flight")
eoh(conn)
body(conn, "first half\r\n")
check(os.execute("kill -TERM " .. MILTER_PID), "kill -TERM failed")
body(conn, "second half\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "acme.example", ACME_SIGS)
-- Once no message is in flight the stopping milter shuts every connection
-- down, possibly before our QUIT: its write may fail (run.sh ignores
-- SIGPIPE for this script). The message is done; that is not an error.
pcall(mt.disconnect, conn)
