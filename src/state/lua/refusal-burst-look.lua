--[[
  The leader looks again: the burst ends when nobody joined since it last looked (or when told to end).
  KEYS[1] the counter · ARGV[1] the count it saw last time · ARGV[2] 1 to end now · ARGV[3] safety lease (ms)
  Returns {count, ended (1/0)}; an ended burst's counter is gone, so the next refusal leads a new one.
]]
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= tonumber(ARGV[1]) or ARGV[2] == '1' then redis.call('DEL', KEYS[1]) return {n, 1} end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {n, 0}
