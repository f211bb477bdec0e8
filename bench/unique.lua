-- wrk: every request a new message (and delivery), so dedupe never hits
local body = nil
local n = 0
local f = io.open(os.getenv("CWAI_BODY"), "rb")
body = f:read("*a")
f:close()
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function request()
    n = n + 1
    -- tid is set by setup() in this thread's state
    local id = (tid or 0) * 100000000 + n
    local b = body:gsub('"id":90211', '"id":' .. id)
    b = b:gsub('"id":318,', '"id":' .. (id % 1000000) .. ',', 1)
    return wrk.format("POST", "/hook", {["Content-Type"] = "application/json"}, b)
end
