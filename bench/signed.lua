-- wrk: Chatwoot's signed example delivery, verified on every request
-- (chatwootai_webhook_max_skew 0); after the first it is a duplicate.
local f = io.open(os.getenv("CWAI_BODY"), "rb")
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = "/hook-signed"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Chatwoot-Timestamp"] = "1781964192"
wrk.headers["X-Chatwoot-Signature"] = "sha256=9d4007506aee3901a35ec93f1070417662107d6cc9c41eb263b9f2c11b11b5a6"
