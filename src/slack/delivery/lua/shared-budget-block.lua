--[[
  Empties the buckets and blocks them for a 429's Retry-After (every replica waits).
  KEYS[i]   the buckets · ARGV[1] ms to block · ARGV[2+2(i-1)], ARGV[3+2(i-1)] capacity, refill per ms
  Returns the blocked-until time (ms, server clock).
]]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local blocked = math.max(tonumber(redis.call('HGET', key, 'b')) or 0, untilMs)
  redis.call('HSET', key, 't', '0', 'a', blocked, 'b', blocked)
  redis.call('PEXPIRE', key, (blocked - now) + math.ceil(cap / rate) + 1000)
end
return untilMs
