--[[
  KEYS[1] channel lock · KEYS[2] the channel's line · KEYS[3] channels with a line
  ARGV[1] job id · ARGV[2] lease ms · ARGV[3] channel id · ARGV[4] line TTL ms
  Returns {1} when the job took the free channel, {0, holder, position} when it waits (1 = next).
]]
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
local pos = redis.call('LPOS', KEYS[2], ARGV[1])
if not pos then pos = redis.call('RPUSH', KEYS[2], ARGV[1]) - 1 end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
return {0, holder, pos + 1}
