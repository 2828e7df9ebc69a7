--[[
  KEYS[1] sorted set: job id → last announced (server ms)
  ARGV[1] ms after which an unannounced job no longer counts · ARGV[2..] job ids to announce
  Returns the number of jobs that count.
]]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local stale = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - stale)
redis.call('PEXPIRE', KEYS[1], stale * 3)
return redis.call('ZCARD', KEYS[1])
