--[[
  Joins the channel's burst.
  KEYS[1] the burst's counter · ARGV[1] safety lease (ms: a burst whose leader died ends by itself)
  Returns the place in the burst (1 = leader).
]]
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
